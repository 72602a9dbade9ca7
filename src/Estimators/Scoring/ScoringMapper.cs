using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// The row mapper of every model transformer. Without <paramref name="batchInput"/> it scores the
/// current row alone (PredictionEngine, one row at a time, lowest latency). With it, a cursor reads
/// the same rows ahead through a second cursor of <paramref name="batchInput"/> and scores them in
/// length-sorted batches; the main cursor then needs none of the model's input columns.
/// </summary>
internal sealed class ScoringMapper<TInput, TResult>(
    IHost host, DataViewSchema schema, RowToRowTransformerBase parent, RowScoring<TInput, TResult> scoring,
    IDataView? batchInput, int batchSize, Action<ModelSaveContext> save)
    : RowToRowTransformerBase.MapperBase(host, schema, parent)
{
    protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => scoring.OutputColumns;

    public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
    {
        disposer = () => { };
        var outputs = scoring.OutputColumns.Length;
        // A cursor that reads no output has not activated the input columns: open nothing.
        if (!Enumerable.Range(0, outputs).Any(activeOutput)) return new Delegate[outputs];
        if (batchInput is null)
        {
            var read = scoring.Reader(input);
            // One row at a time is what a PredictionEngine runs, and one engine is for one thread:
            // two threads scoring through it at once would mix their rows, so the second is refused.
            var busy = 0;
            var cache = new RowCache<TResult>(input, () =>
            {
                if (Interlocked.Exchange(ref busy, 1) == 1) throw new InvalidOperationException(ConcurrentUse);
                try { return scoring.Score([read()])[0]; }
                finally { Volatile.Write(ref busy, 0); }
            });
            return scoring.Getters(cache.Get, activeOutput);
        }
        var batches = new ScoredBatches<TInput, TResult>(batchInput, scoring, batchSize);
        disposer = batches.Dispose;
        return scoring.Getters(() => batches.Get(input.Position), activeOutput);
    }

    private const string ConcurrentUse = "Two threads scored through one PredictionEngine (or one row) at the same time. A PredictionEngine " +
        "is not thread-safe: create one per thread (the model itself may be shared), or use a PredictionEnginePool.";

    protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer) =>
        CreateGetters(input, i => i == iinfo, out disposer)[iinfo];

    protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
    {
        var active = Enumerable.Range(0, scoring.OutputColumns.Length).Any(activeOutput);
        // Batched, the look-ahead cursor reads the inputs: the main cursor need not compute them too.
        return column => active && batchInput is null && scoring.InputColumns.Contains(column);
    }

    protected override void SaveModel(ModelSaveContext ctx) => save(ctx);
}
