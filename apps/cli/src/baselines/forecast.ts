/**
 * Forecast baselines on exactly the windows `evaluate` of @elementwise/models scores a
 * forecaster on: windows of `inputLength` steps followed by `horizon` steps inside a split's
 * sub-series, starting every `horizon` steps (each target predicted once); errors averaged over
 * all (window, step) targets of channel 0.
 */
export interface ForecastErrors {
  mae: number;
  rmse: number;
  windows: number;
}

export interface ForecastWindowsSource {
  /** The whole series' target channel (channel 0), in time order. */
  target: ArrayLike<number>;
  /** `[start, end)` of the split in the whole series. */
  range: readonly [number, number];
  inputLength: number;
  horizon: number;
}

function scoreWindows(
  source: ForecastWindowsSource,
  predict: (origin: number, step: number) => number,
): ForecastErrors {
  const { target, range, inputLength, horizon } = source;
  const [start, end] = range;
  let absolute = 0;
  let squared = 0;
  let targets = 0;
  let windows = 0;
  for (let first = start; first + inputLength + horizon <= end; first += horizon) {
    const origin = first + inputLength - 1; // last observed step
    for (let step = 1; step <= horizon; step += 1) {
      const error = predict(origin, step) - target[origin + step];
      absolute += Math.abs(error);
      squared += error * error;
      targets += 1;
    }
    windows += 1;
  }
  if (windows === 0) throw new Error('the split is shorter than one forecast window');
  return { mae: absolute / targets, rmse: Math.sqrt(squared / targets), windows };
}

/** Last observed value repeated over the horizon: sees only the model's input window. */
export function naiveForecast(source: ForecastWindowsSource): ForecastErrors {
  return scoreWindows(source, (origin) => source.target[origin]);
}

/**
 * Seasonal naive: the value one season (or k seasons) before each target,
 * ŷ(T+h) = y(T + h − m·⌈h/m⌉). With m = 12 it looks up to 12 months before the origin, so it
 * reads history older than the models' 6-month window (the whole series before the window, as
 * the textbook baseline does).
 */
export function seasonalNaiveForecast(
  source: ForecastWindowsSource,
  season: number,
): ForecastErrors {
  return scoreWindows(source, (origin, step) => {
    const lookup = origin + step - season * Math.ceil(step / season);
    if (lookup < 0)
      throw new Error('seasonal naive needs a full season of history before the split');
    return source.target[lookup];
  });
}
