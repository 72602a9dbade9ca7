using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// A hyper-parameter sweep shaped like an AutoML experiment: a search space declared on
/// <typeparamref name="T"/> (<see cref="RangeAttribute"/>, <see cref="ChoiceAttribute"/>), a pipeline
/// factory (MLContext, parameters) -> estimator, a metric on a holdout split or by cross-validation,
/// a tuner, time and trial budgets, cancellation. A trial that throws or scores NaN is recorded as
/// failed and the sweep goes on. Deterministic for a seed (each trial gets a fresh MLContext with
/// that seed) and resumable from its results file.
/// </summary>
public sealed class SweepExperiment<T> where T : class, new()
{
    private readonly MLContext _ml;
    private readonly Func<MLContext, T, IEstimator<ITransformer>> _pipeline;
    private readonly SweepOptions _options;
    private readonly PropertyInfo? _budget;

    /// <summary>Creates the experiment; <paramref name="pipeline"/> builds the estimator of one trial.</summary>
    public SweepExperiment(MLContext ml, Func<MLContext, T, IEstimator<ITransformer>> pipeline, SweepOptions options)
    {
        (_ml, _pipeline, _options) = (ml ?? throw new ArgumentNullException(nameof(ml)), pipeline ?? throw new ArgumentNullException(nameof(pipeline)),
            options ?? throw new ArgumentNullException(nameof(options)));
        Space = new SearchSpace<T>();
        if (options.MaxBudget < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxBudget, "MaxBudget must be at least 1.");
        if (options.BudgetProperty is { } name)
        {
            _budget = typeof(T).GetProperty(name) is { CanWrite: true } p && p.PropertyType == typeof(int) ? p
                : throw new ArgumentException($"{typeof(T).Name} has no settable int property '{name}' to hold the budget.", nameof(options));
            if (Space.Names.Contains(name)) throw new ArgumentException($"'{name}' is the budget; it cannot also be searched.", nameof(options));
        }
    }

    /// <summary>The search space read from <typeparamref name="T"/>.</summary>
    public SearchSpace<T> Space { get; }

    /// <summary>Runs the sweep on <paramref name="data"/> with <paramref name="tuner"/>.</summary>
    public SweepResult<T> Run(IDataView data, SweepTuner tuner)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(tuner);
        var clock = Stopwatch.StartNew();
        using var channel = ((IHostEnvironment)_ml).Register(nameof(SweepExperiment<T>)).Start("Sweep");
        var resumed = _options.ResultsPath is { } results && File.Exists(results) ? SweepFiles.ReadJson(results) : [];
        var done = new Dictionary<string, SweepTrial>();
        foreach (var trial in resumed) done[trial.Key] = trial;
        if (done.Count > 0) channel.Info($"Sweep resumes from {_options.ResultsPath}: {done.Count} trials already done.");
        var splits = Splits(data);
        var trials = new List<SweepTrial>();

        double RunOne(T point, int budget)
        {
            if (_options.Cancellation.IsCancellationRequested || trials.Count >= _options.MaxTrials
                || (_options.TimeBudget is { } limit && clock.Elapsed >= limit)) return double.NaN;
            _budget?.SetValue(point, budget);
            var parameters = Space.Describe(point);
            var key = SweepTrial.KeyOf(parameters, budget);
            var trial = done.TryGetValue(key, out var previous)
                ? previous with { Id = trials.Count }
                : Evaluate(trials.Count, point, parameters, budget, splits);
            trials.Add(trial);
            _options.Progress?.Report(trial);
            channel.Info($"Sweep trial {trial.Id}{(previous is null ? "" : " (from the results file)")}: {string.Join(", ", parameters.Select(p => $"{p.Key}={p.Value}"))}, " +
                    $"budget {budget}: {(trial.Succeeded ? $"{_options.MetricName} {trial.Metric:F4}" : $"failed ({trial.Error})")} in {trial.Seconds:F1} s");
            if (_options.ResultsPath is { } path)
            {
                SweepFiles.WriteJson(path, trials);
                SweepFiles.WriteCsv(Path.ChangeExtension(path, ".csv"), trials);
            }
            return !trial.Succeeded ? double.NaN : _options.Maximize ? trial.Metric : -trial.Metric;
        }

        if (_options.IncludeDefaults) RunOne(Space.Default(), _options.MaxBudget);
        tuner.Search(Space, new Random(_options.Seed), _options.MaxBudget, batch => batch.Select(t => RunOne(t.Point, t.Budget)).ToList());

        var best = BestOf(trials);
        T? bestParameters = null;
        ITransformer? model = null;
        if (best is not null)
        {
            bestParameters = Space.Parse(best.Parameters);
            _budget?.SetValue(bestParameters, best.Budget);
            if (_options.RefitBest)
            {
                var ml = new MLContext(_options.Seed);
                model = _pipeline(ml, bestParameters).Fit(data);
                if (_options.ModelPath is { } zip) ml.Model.SaveAtomically(model, data.Schema, zip);
            }
        }
        return new SweepResult<T>(trials, best, bestParameters, model, _options.MetricName, _options.Maximize, clock.Elapsed);
    }

    // A metric that cannot read the scored data (a column it names is missing, of another type) would
    // fail every trial the same way after its training: the sweep stops at the first one instead.
    private double Metric(MLContext ml, IDataView scored)
    {
        try
        {
            return _options.Metric(ml, scored);
        }
        catch (ArgumentException e)
        {
            throw new SweepMetricException($"The sweep's metric ({_options.MetricName}) cannot read the scored data, so every trial would fail: {e.Message} " +
                $"The scored data has columns {string.Join(", ", scored.Schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.", e);
        }
    }

    private sealed class SweepMetricException(string message, Exception inner) : InvalidOperationException(message, inner);

    private SweepTrial Evaluate(int id, T point, IReadOnlyDictionary<string, string> parameters, int budget, IReadOnlyList<(IDataView Train, IDataView Test)> splits)
    {
        var clock = Stopwatch.StartNew();
        long steps = 0;
        try
        {
            var metrics = new List<double>();
            foreach (var (train, test) in splits)
            {
                var ml = new MLContext(_options.Seed);
                var model = _pipeline(ml, point).Fit(train);
                try
                {
                    metrics.Add(Metric(ml, model.Transform(test)));
                    steps += Steps(model);
                }
                finally { Dispose(model); }
            }
            var metric = metrics.Average();
            return new SweepTrial(id, parameters, budget, metric, clock.Elapsed.TotalSeconds, steps, double.IsFinite(metric) ? null : $"the metric is {metric}");
        }
        catch (Exception e) when (e is not OperationCanceledException and not SweepMetricException)
        {
            return new SweepTrial(id, parameters, budget, double.NaN, clock.Elapsed.TotalSeconds, steps, $"{e.GetType().Name}: {e.Message}");
        }
    }

    // The best succeeded trial among those that reached the largest budget (successive halving's last rung).
    private SweepTrial? BestOf(List<SweepTrial> trials)
    {
        var succeeded = trials.Where(t => t.Succeeded).ToList();
        if (succeeded.Count == 0) return null;
        var top = succeeded.Max(t => t.Budget);
        var rung = succeeded.Where(t => t.Budget == top);
        return (_options.Maximize ? rung.OrderByDescending(t => t.Metric) : rung.OrderBy(t => t.Metric)).ThenBy(t => t.Id).First();
    }

    private List<(IDataView Train, IDataView Test)> Splits(IDataView data)
    {
        if (_options.Folds >= 2)
            return _ml.Data.CrossValidationSplit(data, _options.Folds, seed: _options.Seed).Select(f => (f.TrainSet, f.TestSet)).ToList();
        if (_options.HoldoutFraction is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(SweepOptions.HoldoutFraction), _options.HoldoutFraction, "The holdout fraction must be in (0, 1), or use Folds.");
        var split = _ml.Data.TrainTestSplit(data, _options.HoldoutFraction, seed: _options.Seed);
        return [(split.TrainSet, split.TestSet)];
    }

    private static long Steps(ITransformer model) => model switch
    {
        ITrainedTransformer trained => trained.Training?.Steps ?? 0,
        IEnumerable<ITransformer> chain => chain.Sum(Steps),
        _ => 0,
    };

    private static void Dispose(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain) foreach (var part in chain) Dispose(part);
        else (model as IDisposable)?.Dispose();
    }
}
