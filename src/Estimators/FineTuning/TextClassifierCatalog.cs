using Microsoft.ML.Data;

using Pipelines;

namespace Microsoft.ML;

/// <summary>The transformer text classifiers in ML.NET's own trainer catalogs.</summary>
public static class TextClassifierCatalog
{
    /// <summary>A binary text classifier fine-tuned from a pretrained encoder (or trained from scratch).</summary>
    public static TextClassificationEstimator TransformerClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        TextClassifierOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)), binary: true);

    /// <summary>A multiclass text classifier fine-tuned from a pretrained encoder (or trained from scratch).</summary>
    public static TextClassificationEstimator TransformerClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        TextClassifierOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)), binary: false);
}
