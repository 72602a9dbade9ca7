using System.Text.RegularExpressions;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// The parameter-name map between this library's models and Hugging Face checkpoints, both ways.
/// Our field names already follow BERT's and GPT-2's checkpoints, so:
/// <list type="bullet">
/// <item>bert: names are equal (<c>bert.*</c>, <c>cls.predictions.*</c>, <c>cls.seq_relationship.*</c>).</item>
/// <item>roberta: <c>bert.</c> becomes <c>roberta.</c>; <c>cls.predictions.transform.dense</c> / <c>.LayerNorm</c> /
/// <c>cls.predictions.bias</c> become <c>lm_head.dense</c> / <c>lm_head.layer_norm</c> / <c>lm_head.bias</c>.</item>
/// <item>gpt2: names are equal, but GPT-2's Conv1D layers (<c>attn.c_attn</c>, <c>attn.c_proj</c>, <c>mlp.c_fc</c>,
/// <c>mlp.c_proj</c>) store their weight as (in, out), the transpose of our (out, in).</item>
/// </list>
/// The masked-LM decoder and GPT-2's <c>lm_head.weight</c> are the word embeddings (tied), so a file's
/// copies of them are checked, not loaded.
/// </summary>
internal static partial class HuggingFaceNames
{
    [GeneratedRegex(@"^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$")]
    private static partial Regex Conv1DWeight();

    [GeneratedRegex(@"^transformer\.h\.\d+\.attn\.(masked_)?bias$|^(bert|roberta)\.embeddings\.(position_ids|token_type_ids)$")]
    private static partial Regex Buffer();

    /// <summary>
    /// The Hugging Face name of our parameter <paramref name="ours"/> (a state_dict name of
    /// <see cref="BertForPreTraining"/> or <see cref="GptLanguageModel"/>), and whether the file holds its transpose.
    /// </summary>
    /// <exception cref="ArgumentException">The parameter has no counterpart in that model type.</exception>
    public static (string Name, bool Transposed) ToHuggingFace(HuggingFaceModelType type, string ours) => ToHuggingFace(type, ours, HuggingFaceHead.None);

    /// <summary>
    /// As <see cref="ToHuggingFace(HuggingFaceModelType, string)"/> for a task model with <paramref name="head"/>.
    /// RoBERTa's sequence classifier keeps BERT's pooler inside its head: our <c>bert.pooler.dense</c> and
    /// <c>classifier</c> are its <c>classifier.dense</c> and <c>classifier.out_proj</c> (the same tanh(dense) of
    /// the first token, then the output layer). Every other head keeps its names.
    /// </summary>
    public static (string Name, bool Transposed) ToHuggingFace(HuggingFaceModelType type, string ours, HuggingFaceHead head)
    {
        if (type == HuggingFaceModelType.Roberta && head == HuggingFaceHead.SequenceClassification)
            foreach (var (from, to) in RobertaClassifierRenames)
                if (ours.StartsWith(from, StringComparison.Ordinal)) return (to + ours[from.Length..], false);
        if (head != HuggingFaceHead.None && type != HuggingFaceModelType.Bert && !ours.StartsWith("bert.", StringComparison.Ordinal))
            return (ours, false);                                                            // classifier.*, qa_outputs.*
        switch (type)
        {
            case HuggingFaceModelType.Bert:
                return (ours, false);
            case HuggingFaceModelType.Gpt2:
                return (ours, Conv1DWeight().IsMatch(ours));
            default:
                foreach (var (from, to) in RobertaRenames)
                    if (ours.StartsWith(from, StringComparison.Ordinal)) return (to + ours[from.Length..], false);
                throw new ArgumentException($"Parameter '{ours}' has no counterpart in a RoBERTa checkpoint (RoBERTa has no sentence-pair head).");
        }
    }

    private static readonly (string From, string To)[] RobertaRenames =
    [
        ("bert.", "roberta."),
        ("cls.predictions.transform.dense.", "lm_head.dense."),
        ("cls.predictions.transform.LayerNorm.", "lm_head.layer_norm."),
        ("cls.predictions.bias", "lm_head.bias"),
    ];

    private static readonly (string From, string To)[] RobertaClassifierRenames =
    [
        ("bert.pooler.dense.", "classifier.dense."),
        ("classifier.", "classifier.out_proj."),
    ];

    /// <summary>Names under which a Hugging Face file may hold a copy of another of its tensors (tied weights): copy, original.</summary>
    public static IReadOnlyList<(string Copy, string Original)> TiedCopies(HuggingFaceModelType type, bool tieEmbeddings) => type switch
    {
        HuggingFaceModelType.Bert => [("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"),
                                      ("cls.predictions.decoder.bias", "cls.predictions.bias")],
        HuggingFaceModelType.Roberta => [("lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight"),
                                         ("lm_head.decoder.bias", "lm_head.bias")],
        _ => tieEmbeddings ? [("lm_head.weight", "transformer.wte.weight")] : [],
    };

    /// <summary>Buffers some files carry that hold no weights (GPT-2's causal mask, BERT's position ids): skipped on import.</summary>
    public static bool IsBuffer(string huggingFaceName) => Buffer().IsMatch(huggingFaceName);

    /// <summary>
    /// The name a file's tensor would have in a task model's file: a base-model file (saved from
    /// BertModel or GPT2Model, without the "bert." / "roberta." / "transformer." prefix) gets the prefix,
    /// and TensorFlow-era LayerNorm.gamma / .beta become .weight / .bias, as transformers renames them.
    /// </summary>
    public static string Normalize(string name, string? addPrefix)
    {
        if (name.EndsWith("LayerNorm.gamma", StringComparison.Ordinal)) name = name[..^"gamma".Length] + "weight";
        else if (name.EndsWith("LayerNorm.beta", StringComparison.Ordinal)) name = name[..^"beta".Length] + "bias";
        return addPrefix + name;
    }
}
