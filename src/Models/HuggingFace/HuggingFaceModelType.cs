namespace Pipelines.Models.HuggingFace;

/// <summary>The Hugging Face architectures this library imports and exports (config.json's <c>model_type</c>).</summary>
public enum HuggingFaceModelType
{
    /// <summary>"bert": post-LayerNorm encoder; weights under <c>bert.*</c>, masked-LM head under <c>cls.predictions.*</c>.</summary>
    Bert,
    /// <summary>"roberta": BERT's encoder with positions offset by the padding id; head under <c>lm_head.*</c>.</summary>
    Roberta,
    /// <summary>"gpt2": pre-LayerNorm decoder with Conv1D (in, out) weights under <c>transformer.*</c>.</summary>
    Gpt2,
}

/// <summary>Names of <see cref="HuggingFaceModelType"/> as config.json spells them.</summary>
public static class HuggingFaceModelTypes
{
    /// <summary>The <c>model_type</c> string: "bert", "roberta" or "gpt2".</summary>
    public static string Name(this HuggingFaceModelType type) => type switch
    {
        HuggingFaceModelType.Bert => "bert",
        HuggingFaceModelType.Roberta => "roberta",
        HuggingFaceModelType.Gpt2 => "gpt2",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown Hugging Face model type."),
    };

    /// <summary>The type whose <c>model_type</c> is <paramref name="name"/>, or null for one not supported.</summary>
    public static HuggingFaceModelType? Parse(string? name) => name switch
    {
        "bert" => HuggingFaceModelType.Bert,
        "roberta" => HuggingFaceModelType.Roberta,
        "gpt2" => HuggingFaceModelType.Gpt2,
        _ => null,
    };

    /// <summary>The family prefix of transformers' class names for the type: "Bert", "Roberta" or "GPT2".</summary>
    internal static string ClassPrefix(this HuggingFaceModelType type) => type switch
    {
        HuggingFaceModelType.Bert => "Bert",
        HuggingFaceModelType.Roberta => "Roberta",
        _ => "GPT2",
    };

    /// <summary>True for the encoders (bert, roberta), which load into <see cref="BertForPreTraining"/>.</summary>
    public static bool IsEncoder(this HuggingFaceModelType type) => type != HuggingFaceModelType.Gpt2;

    /// <summary>The prefix of the base model's weights inside a task model's file: "bert.", "roberta." or "transformer.".</summary>
    internal static string BasePrefix(this HuggingFaceModelType type) => type switch
    {
        HuggingFaceModelType.Bert => "bert.",
        HuggingFaceModelType.Roberta => "roberta.",
        _ => "transformer.",
    };
}
