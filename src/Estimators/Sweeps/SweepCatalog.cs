using Pipelines;

namespace Microsoft.ML;

/// <summary>Creates sweeps from an MLContext.</summary>
public static class SweepCatalog
{
    /// <summary>A sweep over the search space declared on <typeparamref name="T"/>.</summary>
    public static SweepExperiment<T> CreateSweep<T>(this MLContext ml, Func<MLContext, T, IEstimator<ITransformer>> pipeline, SweepOptions options)
        where T : class, new() => new(ml, pipeline, options);
}
