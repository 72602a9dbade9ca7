using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipelines.Models;

/// <summary>
/// The architecture of a transformer encoder or decoder. Defaults are a small model that trains
/// on a CPU in minutes; BERT-base would be Layers 12, Hidden 768, Heads 12, FeedForward 3072,
/// MaxPositions 512. Stored next to the weights so that loading and resuming can check it.
/// </summary>
public sealed record TransformerConfig
{
    /// <summary>Number of token ids the embedding table holds.</summary>
    public int VocabSize { get; init; } = 8192;
    /// <summary>Number of transformer blocks.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Width of the residual stream (embedding size).</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Attention heads per block; must divide <see cref="Hidden"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Inner width of each block's feed-forward network (BERT and GPT-2 use 4 x Hidden).</summary>
    public int FeedForward { get; init; } = 1024;
    /// <summary>Longest sequence the learned position embeddings cover.</summary>
    public int MaxPositions { get; init; } = 512;
    /// <summary>Number of segment (token type) ids for sentence pairs; 0 disables segment embeddings.</summary>
    public int TypeVocabSize { get; init; } = 2;
    /// <summary>Dropout on embeddings, attention probabilities and residual branches.</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>True: LayerNorm before each sub-layer (GPT-2); false: after (BERT).</summary>
    public bool PreLayerNorm { get; init; }
    /// <summary>Epsilon of every LayerNorm (BERT 1e-12, GPT-2 1e-5).</summary>
    public double LayerNormEpsilon { get; init; } = 1e-12;
    /// <summary>Standard deviation of the normal initialisation of weights (0.02 in BERT and GPT-2).</summary>
    public double InitRange { get; init; } = 0.02;
    /// <summary>True: the output projection of language-model heads shares the input embedding matrix.</summary>
    public bool TieEmbeddings { get; init; } = true;
    /// <summary>True: linear layers and LayerNorms carry biases.</summary>
    public bool Bias { get; init; } = true;
    /// <summary>
    /// Row of the position table that the first real token uses (0 for BERT and GPT-2). RoBERTa
    /// checkpoints number positions from their padding id + 1 = 2, so their table has
    /// <see cref="MaxPositions"/> rows of which only MaxPositions - PositionOffset are usable. With an
    /// offset, the encoder counts only unmasked tokens (as RoBERTa does), and padding uses row
    /// PositionOffset - 1 (RoBERTa's padding row).
    /// </summary>
    public int PositionOffset { get; init; }
    /// <summary>
    /// The feed-forward (and masked-LM transform) non-linearity. <see cref="Pipelines.Activation.Default"/>
    /// keeps each architecture's own: exact GELU in the encoder (BERT), tanh GELU in the decoder (GPT-2).
    /// </summary>
    public Activation Activation { get; init; }
    /// <summary>
    /// Inner width of the bottleneck adapters (Houlsby et al., 2019) inside every block; 0 (the
    /// default) builds none. Fine-tuning with adapters trains them, the LayerNorms and the head only.
    /// </summary>
    public int AdapterSize { get; init; }
    /// <summary>
    /// Where the adapters sit: true puts one after the attention output and one after the
    /// feed-forward output (Houlsby); false, after the feed-forward output only (Pfeiffer).
    /// </summary>
    public bool AdapterAfterAttention { get; init; } = true;

    /// <summary>Longest sequence the model accepts: the position table's rows after the offset.</summary>
    [JsonIgnore] public int MaxSequenceLength => MaxPositions - PositionOffset;

    /// <summary>Size of one attention head.</summary>
    [JsonIgnore] public int HeadSize => Hidden / Heads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public TransformerConfig Validate()
    {
        static void Check(bool ok, string message) { if (!ok) throw new ArgumentException($"Invalid TransformerConfig: {message}"); }
        Check(VocabSize > 0, $"VocabSize must be positive, got {VocabSize}.");
        Check(Layers > 0, $"Layers must be positive, got {Layers}.");
        Check(Hidden > 0 && Heads > 0, $"Hidden and Heads must be positive, got {Hidden} and {Heads}.");
        Check(Hidden % Heads == 0, $"Hidden ({Hidden}) must be divisible by Heads ({Heads}).");
        Check(FeedForward > 0, $"FeedForward must be positive, got {FeedForward}.");
        Check(MaxPositions > 0, $"MaxPositions must be positive, got {MaxPositions}.");
        Check(TypeVocabSize >= 0, $"TypeVocabSize must not be negative, got {TypeVocabSize}.");
        Check(Dropout is >= 0 and < 1, $"Dropout must be in [0, 1), got {Dropout}.");
        Check(LayerNormEpsilon > 0, $"LayerNormEpsilon must be positive, got {LayerNormEpsilon}.");
        Check(InitRange > 0, $"InitRange must be positive, got {InitRange}.");
        Check(PositionOffset >= 0 && PositionOffset < MaxPositions,
            $"PositionOffset must be in [0, MaxPositions = {MaxPositions}), got {PositionOffset}.");
        Check(AdapterSize >= 0, $"AdapterSize must not be negative, got {AdapterSize}.");
        Check(Enum.IsDefined(Activation), $"Activation {(int)Activation} is not one of {string.Join(", ", Enum.GetNames<Activation>())}.");
        return this;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// A BERT style encoder: post-LayerNorm with epsilon 1e-12, two segment types, feed-forward 4 x
    /// <paramref name="hidden"/> unless <paramref name="feedForward"/> is given, and position rows for
    /// <paramref name="maxLength"/> tokens (at least 8, so that short rows leave room); set the rest with <c>with</c>.
    /// The one place a new encoder's config is made, as <see cref="Gpt"/> is for decoders.
    /// </summary>
    public static TransformerConfig Bert(int vocabSize, int layers, int hidden, int heads, int maxLength, int feedForward = 0) => new()
    {
        VocabSize = vocabSize, Layers = layers, Hidden = hidden, Heads = heads, FeedForward = feedForward > 0 ? feedForward : 4 * hidden,
        MaxPositions = Math.Max(maxLength, 8), TypeVocabSize = 2, PreLayerNorm = false, LayerNormEpsilon = 1e-12,
    };

    /// <summary>
    /// A GPT-2 style decoder: pre-LayerNorm with epsilon 1e-5, no segment embeddings, feed-forward 4 x
    /// <paramref name="hidden"/> unless <paramref name="feedForward"/> is given, a context of
    /// <paramref name="blockSize"/> positions; set the rest with <c>with</c>.
    /// </summary>
    public static TransformerConfig Gpt(int vocabSize, int layers, int hidden, int heads, int blockSize, int feedForward = 0) => new()
    {
        VocabSize = vocabSize, Layers = layers, Hidden = hidden, Heads = heads, FeedForward = feedForward > 0 ? feedForward : 4 * hidden,
        MaxPositions = blockSize, PreLayerNorm = true, LayerNormEpsilon = 1e-5, TypeVocabSize = 0,
    };

    /// <summary>The config as JSON, for storing beside the weights.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads and validates a config written by <see cref="ToJson"/>.</summary>
    public static TransformerConfig FromJson(string json) =>
        (JsonSerializer.Deserialize<TransformerConfig>(json, Json)
         ?? throw new InvalidDataException("Transformer config JSON is empty.")).Validate();
}
