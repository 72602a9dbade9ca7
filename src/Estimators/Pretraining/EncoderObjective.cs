namespace Pipelines;

/// <summary>What an encoder learns from unlabelled text in <see cref="MaskedLanguageModelEstimator"/>.</summary>
public enum EncoderObjective
{
    /// <summary>BERT's masked-LM: recover the masked 15 % of the tokens.</summary>
    MaskedLanguageModel,
    /// <summary>
    /// ELECTRA's replaced-token detection: a small generator fills the masked positions with its own
    /// guesses, and the encoder learns, for every token, whether it is the original. Every token
    /// teaches the encoder, not only the masked ones, so it learns more per step than masked-LM. The
    /// masked-LM head the transformer keeps is the generator's; its filled column and FillMask are
    /// therefore not meaningful: the result is an encoder to fine-tune or to embed with.
    /// </summary>
    ReplacedTokenDetection,
}
