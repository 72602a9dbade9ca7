namespace Pipelines;

/// <summary>
/// Options of the prompt-based (cloze) classifiers: a template that puts each row's text around a
/// mask token, and a verbalizer that gives each class its words; the pretrained masked-LM head
/// scores the class words at the mask. Zero-shot (<see cref="ZeroShot"/>) uses the head as
/// pretraining left it; otherwise the labelled rows fine-tune the encoder and that same head (PET,
/// LM-BFF). The start (<see cref="FineTuningOptions.Base"/>) must be a pretrained masked-LM with its
/// head: this library's, or a Hugging Face bert or roberta directory.
/// </summary>
public sealed class PromptClassifierOptions : FineTuningOptions
{
    /// <summary>Label column: Boolean or Single (NaN = unlabelled) for binary, Key for multiclass.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// The cloze: <c>{text}</c> where the row's text goes, <c>[MASK]</c> where the class word is to be
    /// predicted, each once (the tokenizer's own mask token is used, whatever it is called). Long texts
    /// are cut so that the template always fits.
    /// </summary>
    public string Template { get; set; } = "{text} It was [MASK].";

    /// <summary>
    /// Each class's words, by class name: "False" and "True" for a binary label, the key's names for a
    /// multiclass one (e.g. <c>["World"] = ["world", "politics"]</c>). A class's score is the mean of
    /// its words' logits. Each word must be a single token of the vocabulary: others are left out
    /// with a warning, and a class with none left is refused.
    /// </summary>
    public IReadOnlyDictionary<string, string[]>? Verbalizer { get; set; }

    /// <summary>
    /// True: no fine-tuning; the pretrained head classifies as it is (labels, if any, are not read,
    /// but the label column still says the classes).
    /// </summary>
    public bool ZeroShot { get; set; }

    /// <summary>Loss, accuracy, F1 and AUC (binary only), as the other classifiers.</summary>
    private protected override BestBy[] BestByChoices => [BestBy.Loss, BestBy.Accuracy, BestBy.F1, BestBy.Auc];

    internal override void Validate()
    {
        base.Validate();
        if (Base == EncoderSource.None)
            throw new ArgumentException("A prompt-based classifier reads the pretrained masked-LM head: set Base to a pretrained masked-LM (EncoderSource.FromTransformer, FromZip, FromHuggingFace).");
        if (Verbalizer is null || Verbalizer.Count < 2)
            throw new ArgumentException("Verbalizer must give words for every class (at least two), e.g. { [\"False\"] = [\"bad\"], [\"True\"] = [\"good\"] }.");
        if (string.IsNullOrWhiteSpace(Template)) throw new ArgumentException("Template must hold {text} and [MASK], e.g. \"{text} It was [MASK].\"");
    }
}
