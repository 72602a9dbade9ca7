namespace Pipelines;

/// <summary>Which validation measure picks the best step (for early stopping and best-weights restore).</summary>
public enum BestBy
{
    /// <summary>Lowest validation loss (the default, as Hugging Face's Trainer).</summary>
    Loss,
    /// <summary>Highest validation accuracy (tasks whose metric follows accuracy more than loss, e.g. tagging).</summary>
    Accuracy,
    /// <summary>Highest validation F1: the positive class's for binary classifiers, macro-averaged for multiclass, entity-level (seqeval's) for the tagger.</summary>
    F1,
    /// <summary>Highest validation area under the ROC curve (binary classifiers).</summary>
    Auc,
}
