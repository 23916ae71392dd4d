/** Files that could not be indexed, each with the reason (the first page of them). */
import type { SkippedFile } from '../../../shared/api';

export function SkippedCard({ skipped }: { skipped: { total: number; items: SkippedFile[] } | null }) {
  return (
    <div className="card wide">
      <h2>Skipped files {skipped && skipped.total > 0 ? <span className="badge">{skipped.total}</span> : null}</h2>
      {!skipped || skipped.total === 0 ? (
        <p className="muted">No skipped files. Files that cannot be read as photos are listed here with the reason.</p>
      ) : (
        <table className="table" aria-label="Skipped files">
          <thead>
            <tr>
              <th>File</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {skipped.items.map((s) => (
              <tr key={s.path}>
                <td className="path">{s.path}</td>
                <td>{s.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {skipped && skipped.total > skipped.items.length && <p className="muted">Showing the first {skipped.items.length} of {skipped.total}.</p>}
    </div>
  );
}
