namespace Pipelines;

/// <summary>How a sequence classifier turns hidden states into one vector.</summary>
public enum Pooling
{
    /// <summary>The first token ([CLS]) through BERT's tanh pooler.</summary>
    FirstToken,
    /// <summary>The mean of the hidden states of real (unpadded) tokens.</summary>
    Mean,
}
