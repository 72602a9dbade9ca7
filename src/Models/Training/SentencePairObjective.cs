namespace Pipelines;

/// <summary>The sentence-pair objective trained on BERT's pooled output beside masked-LM.</summary>
public enum SentencePairObjective
{
    /// <summary>Masked-LM only (RoBERTa's choice).</summary>
    None,
    /// <summary>BERT's next-sentence prediction: is the second segment the first's continuation (label 0) or from another document (1)?</summary>
    NextSentence,
    /// <summary>ALBERT's sentence-order prediction: are two consecutive segments in order (label 0) or swapped (1)?</summary>
    SentenceOrder,
}
