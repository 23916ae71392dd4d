/** Loss and held-out R@5 per epoch, with the starting model's R@5 as a dashed line (Chart.js). */
import { useMemo } from 'react';
import { Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { Line } from 'react-chartjs-2';
import type { EvalResult, TrainEpoch } from '../../../shared/api';

ChartJS.register(LinearScale, PointElement, LineElement, Legend, Tooltip);

function prefersDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

export function EpochChart({ history, baseline }: { history: TrainEpoch[]; baseline: EvalResult | null }) {
  const dark = prefersDark();
  const text = dark ? '#c9cdd4' : '#4a4f57';
  const grid = dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.07)';
  // The run's planned epochs fix the x-axis, so it does not rescale as each epoch arrives.
  const planned = Math.max(1, ...history.map((h) => h.epochs));
  const data = useMemo(
    () => ({
      datasets: [
        {
          label: 'Training loss',
          data: history.map((h) => ({ x: h.epoch, y: h.loss })),
          borderColor: '#e0803a',
          backgroundColor: '#e0803a',
          yAxisID: 'loss',
          tension: 0.25,
        },
        {
          label: 'Validation loss',
          data: history.map((h) => ({ x: h.epoch, y: h.valLoss })),
          borderColor: '#c2a06b',
          backgroundColor: '#c2a06b',
          borderDash: [4, 4],
          yAxisID: 'loss',
          tension: 0.25,
        },
        {
          label: 'Validation R@5 (%)',
          data: history.map((h) => ({ x: h.epoch, y: h.val?.textToImage.r5 ?? null })),
          borderColor: '#3a7be0',
          backgroundColor: '#3a7be0',
          yAxisID: 'recall',
          tension: 0.25,
        },
        ...(baseline
          ? [
              {
                label: 'Starting model R@5',
                data: [
                  { x: 1, y: baseline.textToImage.r5 },
                  { x: planned, y: baseline.textToImage.r5 },
                ],
                borderColor: '#8a919c',
                backgroundColor: '#8a919c',
                borderDash: [6, 4],
                pointRadius: 0,
                yAxisID: 'recall',
              },
            ]
          : []),
      ],
    }),
    [history, baseline, planned],
  );
  const options = useMemo(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false as const,
      interaction: { mode: 'nearest' as const, axis: 'x' as const, intersect: false },
      plugins: { legend: { labels: { color: text, usePointStyle: true, boxWidth: 8, boxHeight: 8 } } },
      scales: {
        x: {
          type: 'linear' as const,
          min: 1,
          max: planned,
          title: { display: true, text: 'Epoch', color: text },
          ticks: { color: text, precision: 0, stepSize: planned <= 20 ? 1 : undefined },
          grid: { color: grid },
        },
        loss: { type: 'linear' as const, position: 'left' as const, title: { display: true, text: 'Loss', color: text }, ticks: { color: text }, grid: { color: grid } },
        recall: {
          type: 'linear' as const,
          position: 'right' as const,
          min: 0,
          max: 100,
          title: { display: true, text: 'R@5 %', color: text },
          ticks: { color: text },
          grid: { drawOnChartArea: false },
        },
      },
    }),
    [text, grid, planned],
  );
  return <Line data={data} options={options} />;
}

