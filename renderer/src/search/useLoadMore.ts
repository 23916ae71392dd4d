import { useEffect, type RefObject } from 'react';

/**
 * Load more on scroll: when the end of the results (`moreRef`) comes near, ask for a larger top. The most
 * relevant photos come first in every answer, so what is already shown stays where it is.
 */
export function useLoadMore(moreRef: RefObject<HTMLDivElement | null>, canShowMore: boolean, shown: number, showMore: () => void): void {
  useEffect(() => {
    const el = moreRef.current;
    if (!el || !canShowMore) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((en) => en.isIntersecting)) showMore();
      },
      { rootMargin: '0px 0px 300px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [moreRef, canShowMore, shown, showMore]);
}
