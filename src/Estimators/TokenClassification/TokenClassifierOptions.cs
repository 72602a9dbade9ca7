
namespace Pipelines;

/// <summary>
/// Options of the transformer token classifier (NER and other word taggers). The data has a
/// sentence (words separated by whitespace), its subword tokens with their word ids (from
/// <c>TokenizeSubwords</c>), and one tag per word in BIO form, IOB1 or IOB2. The shared fine-tuning
/// options are in <see cref="FineTuningOptions"/>.
/// </summary>
public sealed class TokenClassifierOptions : FineTuningOptions
{
    /// <summary>Word tags: a vector of String, or of Key with key values; an empty vector marks an unlabelled row.</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>The sentence text; its whitespace-separated words are what the tags label.</summary>
    public string SentenceColumnName { get; set; } = "Sentence";
    /// <summary>The word of each token; null means the tokenizer's <c>{TokenColumnName}.WordIds</c>.</summary>
    public string? WordIdsColumnName { get; set; }
    /// <summary>Output column: the predicted tag of every word (vector of String, in the training tags' scheme).</summary>
    public string PredictionColumnName { get; set; } = "PredictedLabel";

    /// <summary>
    /// How predicted tags are decoded: <see cref="TagDecoding.Constrained"/> (the default) returns the
    /// most probable valid tag sequence, so an entity never opens with a stray I- tag;
    /// <see cref="TagDecoding.Independent"/> takes each word's best tag on its own.
    /// </summary>
    public TagDecoding Decoding { get; set; } = TagDecoding.Constrained;

    /// <summary>
    /// A CRF layer over the words' tag scores (BERT-CRF): it learns which tag follows which, is trained
    /// by the likelihood of each sentence's whole tag sequence, and decodes by Viterbi with the learned
    /// transitions (the transitions IOB2 forbids stay forbidden). False (the default): independent
    /// softmax tags, decoded as <see cref="Decoding"/> says.
    /// </summary>
    public bool Crf { get; set; }

    /// <summary>
    /// Also write each sentence's entities, as Hugging Face's aggregated NER pipeline gives them, in
    /// parallel vector columns: this name (the entities' words, vector of String), and this name plus
    /// ".Type" (String), ".Score" (Single: the mean probability of the entity's words' tags), ".Start"
    /// and ".End" (Int32: the words it spans, end exclusive). Null (the default): tags only.
    /// </summary>
    public string? EntitiesColumnName { get; set; }

    internal string WordIdsColumn => WordIdsColumnName ?? TokenColumnName + ".WordIds";

    /// <summary>Loss, tag accuracy and entity-level F1 (seqeval's micro F1, as <c>EvaluateEntities</c> computes it).</summary>
    private protected override BestBy[] BestByChoices => [BestBy.Loss, BestBy.Accuracy, BestBy.F1];
}
