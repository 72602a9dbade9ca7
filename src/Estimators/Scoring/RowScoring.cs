using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>
/// What a model transformer computes for the rows of one input schema: which columns it reads,
/// how it reads one row's input, how it scores a batch of inputs in one forward pass, and which
/// output columns it fills from one row's result. <see cref="ScoringMapper{TInput, TResult}"/>
/// runs it one row at a time (PredictionEngine) or batched (<see cref="ScoredBatches{TInput, TResult}"/>).
/// </summary>
internal abstract class RowScoring<TInput, TResult>
{
    /// <summary>Indices of the input columns a row's input is read from.</summary>
    public abstract IReadOnlyList<int> InputColumns { get; }

    /// <summary>The output columns, in getter order.</summary>
    public abstract DataViewSchema.DetachedColumn[] OutputColumns { get; }

    /// <summary>A reader of the current row's input; each call returns fresh arrays.</summary>
    public abstract Func<TInput> Reader(DataViewRow row);

    /// <summary>The input's token count, by which rows are bucketed so that batches pad little.</summary>
    public abstract int Length(TInput input);

    /// <summary>One result per input, in input order, from one forward pass over the batch.</summary>
    public abstract TResult[] Score(IReadOnlyList<TInput> batch);

    /// <summary>Getters of the active output columns, each reading <paramref name="current"/>.</summary>
    public abstract Delegate[] Getters(Func<TResult> current, Func<int, bool> activeOutput);
}
