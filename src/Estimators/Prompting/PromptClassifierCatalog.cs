using Microsoft.ML.Data;
using Pipelines;

namespace Microsoft.ML;

/// <summary>The prompt-based (cloze) text classifiers in ML.NET's trainer catalogs.</summary>
public static class PromptClassifierCatalog
{
    /// <summary>A binary prompt-based classifier: zero-shot from a pretrained masked-LM, or fine-tuned through its head on few labels.</summary>
    public static PromptClassificationEstimator PromptClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        PromptClassifierOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)), binary: true);

    /// <summary>A multiclass prompt-based classifier: zero-shot from a pretrained masked-LM, or fine-tuned through its head on few labels.</summary>
    public static PromptClassificationEstimator PromptClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        PromptClassifierOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)), binary: false);
}
