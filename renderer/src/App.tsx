import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { LibraryStatus } from '../../shared/api';
import { DuplicatesPanel } from './panels/DuplicatesPanel';
import { LibraryPanel } from './panels/LibraryPanel';
import { ModelsPanel } from './panels/ModelsPanel';
import { SearchPanel } from './panels/SearchPanel';
import { TrainingPanel } from './panels/TrainingPanel';
import { useApi, useEvents } from './state';

export type Tab = 'search' | 'library' | 'training' | 'models' | 'duplicates';
const TABS: { id: Tab; label: string }[] = [
  { id: 'search', label: 'Search' },
  { id: 'library', label: 'Library' },
  { id: 'training', label: 'Training' },
  { id: 'models', label: 'Models' },
  // Last, so Ctrl+1…4 keep the sections the desktop menu names.
  { id: 'duplicates', label: 'Duplicates' },
];

export function App() {
  const { api } = useApi();
  const { libraryVersion, modelsVersion, liveImages, connected } = useEvents();
  const [tab, setTab] = useState<Tab>('search');
  const [status, setStatus] = useState<LibraryStatus | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>({ search: null, library: null, training: null, models: null, duplicates: null });
  const headerRef = useRef<HTMLElement>(null);

  // The search box sticks below the header, whose height changes with the window width and zoom.
  useLayoutEffect(() => {
    const el = headerRef.current;
    if (!el) return;
    const set = () => document.documentElement.style.setProperty('--topbar-h', `${el.offsetHeight}px`);
    set();
    const ro = new ResizeObserver(set);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // While indexing commits batches, the count follows them (the full status comes when the run ends).
  useEffect(() => {
    if (liveImages !== null) setStatus((s) => (s ? { ...s, images: liveImages } : s));
  }, [liveImages]);

  useEffect(() => {
    let live = true;
    void api.status().then((r) => {
      if (live && r.ok) setStatus(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion, modelsVersion]);

  const go = useCallback((t: Tab, focus = false) => {
    setTab(t);
    if (focus) requestAnimationFrame(() => tabRefs.current[t]?.focus());
  }, []);

  // Shortcuts are handled here so they work the same in the browser and the desktop app (whose menu
  // shows them without registering its own accelerators).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && !e.altKey && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        setTab('search');
        requestAnimationFrame(() => {
          searchRef.current?.focus();
          searchRef.current?.select();
        });
      } else if (mod && !e.altKey && ['1', '2', '3', '4'].includes(e.key)) {
        e.preventDefault();
        go(TABS[Number(e.key) - 1].id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [go]);

  const onTabKey = (e: React.KeyboardEvent, index: number) => {
    const delta = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!delta) return;
    e.preventDefault();
    go(TABS[(index + delta + TABS.length) % TABS.length].id, true);
  };

  return (
    <div className={connected ? 'app' : 'app offline'}>
      <header className="topbar" ref={headerRef}>
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span className="title">Photo Search</span>
        </div>
        <nav role="tablist" aria-label="Sections" className="tabs">
          {TABS.map((t, i) => (
            <button
              key={t.id}
              ref={(el) => {
                tabRefs.current[t.id] = el;
              }}
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              tabIndex={tab === t.id ? 0 : -1}
              className="tab"
              onClick={() => go(t.id)}
              onKeyDown={(e) => onTabKey(e, i)}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <div className="status" aria-live="polite">
          {!connected && (
            <span className="disconnected" role="status" data-testid="disconnected">
              Disconnected — reconnecting…
            </span>
          )}
          {status && (
            <>
              <span className="count" data-testid="photo-count">
                {status.images.toLocaleString()} photos
              </span>
              <span className="dot" aria-hidden="true">
                ·
              </span>
              <span className="model-name" title={`Active model: ${status.modelName} (${status.model})`} data-testid="active-model">
                {status.modelName}
              </span>
            </>
          )}
        </div>
      </header>
      {/* While the server is away every action would fail: the panels stay visible but inert. */}
      <main className="content" inert={!connected}>
        <section role="tabpanel" id="panel-search" aria-labelledby="tab-search" hidden={tab !== 'search'}>
          <SearchPanel status={status} searchRef={searchRef} visible={tab === 'search'} onGoLibrary={() => go('library')} />
        </section>
        <section role="tabpanel" id="panel-library" aria-labelledby="tab-library" hidden={tab !== 'library'}>
          <LibraryPanel status={status} />
        </section>
        <section role="tabpanel" id="panel-training" aria-labelledby="tab-training" hidden={tab !== 'training'}>
          <TrainingPanel />
        </section>
        <section role="tabpanel" id="panel-models" aria-labelledby="tab-models" hidden={tab !== 'models'}>
          <ModelsPanel />
        </section>
        <section role="tabpanel" id="panel-duplicates" aria-labelledby="tab-duplicates" hidden={tab !== 'duplicates'}>
          <DuplicatesPanel />
        </section>
      </main>
    </div>
  );
}
