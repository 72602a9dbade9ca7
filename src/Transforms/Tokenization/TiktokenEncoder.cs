using Microsoft.ML.Tokenizers;

namespace Pipelines;

/// <summary>
/// OpenAI's tiktoken encodings through Microsoft.ML.Tokenizers, their data read from the
/// Microsoft.ML.Tokenizers.Data.* assemblies (nothing on disk, nothing downloaded). Byte-level:
/// every text encodes without unknown tokens. Special-token text in the input
/// ("&lt;|endoftext|&gt;") is encoded as that special token, as Microsoft.ML.Tokenizers does.
/// </summary>
internal sealed class TiktokenEncoder : OffsetEncoder
{
    private readonly TiktokenTokenizer _tiktoken;
    private readonly int _count;

    private TiktokenEncoder(string encoding, TiktokenTokenizer tokenizer) : base(tokenizer)
    {
        (Encoding, _tiktoken) = (encoding, tokenizer);
        // In both encodings the special tokens hold the highest ids (cl100k_base: 100276, o200k_base: 200018).
        _count = tokenizer.SpecialTokens!.Values.Max() + 1;
    }

    /// <summary>The encodings this library ships the data of.</summary>
    public static readonly IReadOnlyList<string> Encodings = ["cl100k_base", "o200k_base"];

    public string Encoding { get; }

    public static TiktokenEncoder Create(string encoding)
    {
        if (!Encodings.Contains(encoding))
            throw new ArgumentException($"Unknown tiktoken encoding '{encoding}': expected one of {string.Join(", ", Encodings)}.", nameof(encoding));
        return new TiktokenEncoder(encoding, TiktokenTokenizer.CreateForEncoding(encoding));
    }

    public override TokenizerKind Kind => TokenizerKind.Tiktoken;

    public override int Count => _count;

    // Only special tokens are looked up by name: "<s>" or "<pad>" as ordinary text pieces are not roles.
    public override int? IdOf(string token) =>
        _tiktoken.SpecialTokens is { } specials && specials.TryGetValue(token, out var special) ? special : null;

    public override void Write(BinaryWriter writer) => writer.Write(Encoding);

    public static TiktokenEncoder Read(BinaryReader reader)
    {
        var encoding = reader.ReadString();
        return Encodings.Contains(encoding) ? Create(encoding)
            : throw new InvalidDataException($"Unknown tiktoken encoding '{encoding}' in a saved tokenizer: expected one of {string.Join(", ", Encodings)}.");
    }
}
