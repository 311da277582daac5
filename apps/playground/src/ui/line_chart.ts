import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSeries {
  label: string;
  color: string;
  dash?: number[];
}

export interface LineChartOptions {
  xLabel: string;
  yLabel: string;
  /** Logarithmic axes (the speed chart) or linear ones (the loss curve). */
  logarithmic: boolean;
  series: LineSeries[];
  height: number;
}

/**
 * A uPlot line chart that fills its container's width and follows it when the page resizes.
 * `update` takes the x values and one y array per series (null where there is no point).
 */
export class LineChart {
  private readonly plot: uPlot;
  private readonly resize = new ResizeObserver(() => this.fitWidth());

  constructor(
    private readonly container: HTMLElement,
    options: LineChartOptions,
  ) {
    const distr = options.logarithmic ? 3 : 1;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: options.height,
        scales: { x: { time: false, distr }, y: { distr } },
        axes: [{ label: options.xLabel }, { label: options.yLabel, size: 60 }],
        series: [
          { label: options.xLabel },
          ...options.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            points: { show: true, size: 7 },
            spanGaps: false,
          })),
        ],
      },
      [[], ...options.series.map(() => [])],
      container,
    );
    this.resize.observe(container);
  }

  update(x: number[], ys: Array<Array<number | null>>): void {
    this.plot.setData([x, ...ys] as uPlot.AlignedData);
  }

  private width(): number {
    return Math.max(240, this.container.clientWidth);
  }

  private fitWidth(): void {
    this.plot.setSize({ width: this.width(), height: this.plot.height });
  }
}
