namespace Pipelines;

/// <summary>Shape of the learning-rate curve after warmup.</summary>
public enum DecayShape
{
    /// <summary>Stay at the peak.</summary>
    Constant,
    /// <summary>Straight line from the peak down to the floor at the last step (BERT).</summary>
    Linear,
    /// <summary>Half a cosine from the peak down to the floor at the last step (GPT, nanoGPT).</summary>
    Cosine,
}
