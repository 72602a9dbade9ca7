namespace Pipelines.Models.HuggingFace;

/// <summary>The task head of a Hugging Face encoder model, which decides its class name and some tensor names.</summary>
public enum HuggingFaceHead
{
    /// <summary>No task head: a base model or a language model (…Model, …ForMaskedLM, …ForPreTraining, GPT2LMHeadModel).</summary>
    None,
    /// <summary>…ForSequenceClassification: one output per label from the first token (one output: regression).</summary>
    SequenceClassification,
    /// <summary>…ForTokenClassification: one output per label at every token.</summary>
    TokenClassification,
    /// <summary>…ForQuestionAnswering: start and end logits at every token.</summary>
    QuestionAnswering,
}

/// <summary>The class names transformers gives each head.</summary>
public static class HuggingFaceHeads
{
    /// <summary>The architecture name ("BertForSequenceClassification", ...) of <paramref name="head"/> on <paramref name="type"/>.</summary>
    public static string Architecture(this HuggingFaceHead head, HuggingFaceModelType type)
    {
        var family = type.ClassPrefix();
        return head switch
        {
            HuggingFaceHead.SequenceClassification => family + "ForSequenceClassification",
            HuggingFaceHead.TokenClassification => family + "ForTokenClassification",
            HuggingFaceHead.QuestionAnswering => family + "ForQuestionAnswering",
            _ => throw new ArgumentOutOfRangeException(nameof(head), head, "Not a task head."),
        };
    }

    /// <summary>The head an <c>architectures</c> entry names ("RobertaForTokenClassification": TokenClassification), or None.</summary>
    public static HuggingFaceHead Parse(string? architecture) =>
        architecture is null ? HuggingFaceHead.None
        : architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal) ? HuggingFaceHead.SequenceClassification
        : architecture.EndsWith("ForTokenClassification", StringComparison.Ordinal) ? HuggingFaceHead.TokenClassification
        : architecture.EndsWith("ForQuestionAnswering", StringComparison.Ordinal) ? HuggingFaceHead.QuestionAnswering
        : HuggingFaceHead.None;
}
