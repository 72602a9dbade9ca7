namespace Pipelines;

/// <summary>Which validation measure picks the best step (for early stopping and best-weights restore).</summary>
public enum BestBy
{
    /// <summary>Lowest validation loss (the default, as Hugging Face's Trainer).</summary>
    Loss,
    /// <summary>Highest validation accuracy (tasks whose metric follows accuracy more than loss, e.g. tagging).</summary>
    Accuracy,
}
