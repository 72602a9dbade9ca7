using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>A model that gives each sequence one logit per class, over a BERT encoder: what sequence-classification training and scoring need.</summary>
public interface ISequenceClassifier
{
    /// <summary>The encoder.</summary>
    BertModel Bert { get; }
    /// <summary>Number of classes (1 for a regressor).</summary>
    long Labels { get; }
    /// <summary>Logits (B, Labels) of ids (B, T); mask and segments are (B, T) or null.</summary>
    Tensor Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null);
}
