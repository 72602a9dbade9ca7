namespace Pipelines;

/// <summary>
/// Options of <c>mlContext.Transforms.Text.TokenizeSubwords</c>. The transform writes four columns,
/// all variable-length vectors of Int32 (fixed length <see cref="MaxLength"/> with
/// <see cref="PadToMaxLength"/>):
/// <list type="bullet">
/// <item><c>Output</c>: token ids;</item>
/// <item><c>Output.AttentionMask</c>: 1 per token, 0 per padding position;</item>
/// <item><c>Output.WordIds</c>: the whitespace-separated word each token came from, -1 for special tokens and padding;</item>
/// <item><c>Output.SegmentIds</c>: 0 for the first text, 1 for the second text of a pair.</item>
/// </list>
/// Ids are Int32 rather than an ML.NET key type: they are used as ids by the model (embedding rows),
/// not as categories, and sentinels (-1 word ids, -100 ignored labels) need signed values.
/// </summary>
public sealed class TokenizeSubwordsOptions
{
    /// <summary>Name of the token-id column; the other three are named after it (default "Tokens").</summary>
    public string OutputColumnName { get; set; } = "Tokens";

    /// <summary>Name of the text column (String), default "Text".</summary>
    public string InputColumnName { get; set; } = "Text";

    /// <summary>Name of a second text column for sentence pairs ([CLS] a [SEP] b [SEP]), or null (the default).</summary>
    public string? PairColumnName { get; set; }

    /// <summary>Most tokens per row, special tokens included (default 512).</summary>
    public int MaxLength { get; set; } = 512;

    /// <summary>How a pair is cut to <see cref="MaxLength"/> (default: longest first). Truncated rows are counted and logged.</summary>
    public TruncationStrategy Truncation { get; set; } = TruncationStrategy.LongestFirst;

    /// <summary>
    /// Pad every row to <see cref="MaxLength"/> (fixed-size vector columns). False (the default) leaves
    /// padding to the batcher, which pads each batch to its longest row: faster training on short texts.
    /// </summary>
    public bool PadToMaxLength { get; set; }

    /// <summary>Add [CLS]/[SEP] (default true). False gives raw ids, e.g. for <see cref="SequencePacker"/>.</summary>
    public bool AddSpecialTokens { get; set; } = true;

    /// <summary>The attention-mask column's name for a token column.</summary>
    public static string AttentionMaskColumn(string output) => output + ".AttentionMask";

    /// <summary>The word-id column's name for a token column.</summary>
    public static string WordIdsColumn(string output) => output + ".WordIds";

    /// <summary>The segment-id column's name for a token column.</summary>
    public static string SegmentIdsColumn(string output) => output + ".SegmentIds";

    internal TokenizeSubwordsOptions Copy() => (TokenizeSubwordsOptions)MemberwiseClone();

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(OutputColumnName, nameof(OutputColumnName));
        ArgumentException.ThrowIfNullOrEmpty(InputColumnName, nameof(InputColumnName));
        var specials = AddSpecialTokens ? (PairColumnName is null ? 2 : 3) : 0;
        if (MaxLength <= specials)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), $"{nameof(MaxLength)} {MaxLength} leaves no room for text after {specials} special tokens.");
    }
}
