using Microsoft.ML;

namespace Pipelines;

/// <summary>How a sweep scores, splits, budgets, records and finishes.</summary>
public sealed class SweepOptions
{
    /// <summary>The metric of a scored validation set (see <see cref="SweepMetrics"/>).</summary>
    public required Func<MLContext, IDataView, double> Metric { get; init; }
    /// <summary>Name of the metric in the leaderboard.</summary>
    public string MetricName { get; init; } = "metric";
    /// <summary>True when higher is better (F1, AUC, accuracy); false for losses.</summary>
    public bool Maximize { get; init; } = true;
    /// <summary>Fraction of the data held out to score trials, when <see cref="Folds"/> is below 2.</summary>
    public double HoldoutFraction { get; init; } = 0.2;
    /// <summary>Cross-validation folds (2 or more: each trial is fitted once per fold and scored by the mean).</summary>
    public int Folds { get; init; }
    /// <summary>Seed of the split, of sampled configurations and of each trial's MLContext.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Property of the parameter type that holds the budget (e.g. "Epochs"); set by the tuner.</summary>
    public string? BudgetProperty { get; init; }
    /// <summary>The full budget (e.g. the most epochs); grid and random search give every trial this much.</summary>
    public int MaxBudget { get; init; } = 1;
    /// <summary>Stop starting trials after this much wall time.</summary>
    public TimeSpan? TimeBudget { get; init; }
    /// <summary>Run at most this many trials (resumed ones count).</summary>
    public int MaxTrials { get; init; } = int.MaxValue;
    /// <summary>Stops the sweep between trials.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Score the parameter type's defaults (<c>new T()</c> with the attributes' init values, full budget) as trial 0, to compare against.</summary>
    public bool IncludeDefaults { get; init; }
    /// <summary>JSON results file: written after every trial, and read at the start so a sweep resumes where it stopped (CSV beside it).</summary>
    public string? ResultsPath { get; init; }
    /// <summary>Refit the best trial on all the data and save it as an ML.NET model zip here; null: refit only.</summary>
    public string? ModelPath { get; init; }
    /// <summary>Refit the best trial's pipeline on all the data at the end.</summary>
    public bool RefitBest { get; init; } = true;
    /// <summary>Receives every finished trial.</summary>
    public IProgress<SweepTrial>? Progress { get; init; }
}
