using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Pipelines;

/// <summary>
/// Byte-pair encoding from a vocab.json (token to id) and a merges.txt ("a b" per line, an optional
/// "#version" first line) through Microsoft.ML.Tokenizers. Byte-level (GPT-2, RoBERTa: the default)
/// encodes every text without unknown tokens, with GPT-2's pre-tokenizer; otherwise text is split into
/// words and punctuation and characters outside the vocabulary become the unknown token.
/// </summary>
internal sealed partial class BpeEncoder : OffsetEncoder
{
    private readonly Dictionary<string, int> _vocabulary;
    private readonly byte[] _vocabFile;
    private readonly byte[] _mergesFile;

    private BpeEncoder(BpeTokenizer tokenizer, Dictionary<string, int> vocabulary, byte[] vocabFile, byte[] mergesFile, bool byteLevel, string? unknownToken)
        : base(tokenizer)
    {
        (_vocabulary, _vocabFile, _mergesFile, ByteLevel, UnknownToken) = (vocabulary, vocabFile, mergesFile, byteLevel, unknownToken);
        Count = vocabulary.Values.Max() + 1;
    }

    public bool ByteLevel { get; }

    public string? UnknownToken { get; }

    /// <summary>The vocab.json and merges.txt this encoder was built from, as they were read.</summary>
    public (ReadOnlyMemory<byte> Vocabulary, ReadOnlyMemory<byte> Merges) Files => (_vocabFile, _mergesFile);

    public override TokenizerKind Kind => TokenizerKind.Bpe;

    public override int Count { get; }

    public override int? IdOf(string token) => _vocabulary.TryGetValue(token, out var id) ? id : null;

    public static BpeEncoder Create(byte[] vocabFile, byte[] mergesFile, bool byteLevel, string? unknownToken)
    {
        var vocabulary = ParseVocabulary(vocabFile);
        var merges = ParseMerges(mergesFile, vocabulary);
        if (!byteLevel && unknownToken is null)
            throw new ArgumentException("A BPE vocabulary that is not byte-level needs an unknown token (for characters outside it).", nameof(unknownToken));
        if (unknownToken is not null && !vocabulary.ContainsKey(unknownToken))
            throw new InvalidDataException($"BPE vocabulary lacks the unknown token '{unknownToken}'.");
        var tokenizer = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = byteLevel,
            UnknownToken = unknownToken,
            PreTokenizer = byteLevel ? new RegexPreTokenizer(Gpt2Split(), null) : PreTokenizer.CreateWordOrNonWord(),
        });
        return new BpeEncoder(tokenizer, vocabulary, vocabFile, mergesFile, byteLevel, unknownToken);
    }

    // GPT-2's pre-tokenizer: contractions, letters, digits, other symbols, each with one leading space.
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();

    public override void Write(BinaryWriter writer)
    {
        writer.Write(ByteLevel);
        writer.Write(UnknownToken ?? "");
        TokenizerFormat.WriteBytes(writer, _vocabFile);
        TokenizerFormat.WriteBytes(writer, _mergesFile);
    }

    public static BpeEncoder Read(BinaryReader reader)
    {
        var byteLevel = reader.ReadBoolean();
        var unknown = reader.ReadString();
        var vocab = TokenizerFormat.ReadBytes(reader, "BPE vocab.json");
        var merges = TokenizerFormat.ReadBytes(reader, "BPE merges.txt");
        if (!byteLevel && unknown.Length == 0)
            throw new InvalidDataException("Saved BPE tokenizer is neither byte-level nor has an unknown token: it was damaged.");
        return Create(vocab, merges, byteLevel, unknown.Length == 0 ? null : unknown);
    }

    private static Dictionary<string, int> ParseVocabulary(byte[] file)
    {
        Dictionary<string, int>? vocabulary;
        try
        {
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(file);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"BPE vocab.json is not a JSON object of token to integer id: {e.Message}", e);
        }
        if (vocabulary is null || vocabulary.Count == 0) throw new InvalidDataException("BPE vocab.json is empty.");
        var seen = new Dictionary<int, string>();
        foreach (var (token, id) in vocabulary)
        {
            if (id < 0) throw new InvalidDataException($"BPE vocab.json gives token '{token}' the negative id {id}.");
            if (!seen.TryAdd(id, token)) throw new InvalidDataException($"BPE vocab.json gives id {id} to both '{seen[id]}' and '{token}'.");
        }
        return vocabulary;
    }

    private static List<string> ParseMerges(byte[] file, Dictionary<string, int> vocabulary)
    {
        var merges = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StreamReader(new MemoryStream(file), Encoding.UTF8);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || (number == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new InvalidDataException($"BPE merges.txt line {number} is not two tokens separated by one space: '{line}'.");
            if (parts.FirstOrDefault(p => !vocabulary.ContainsKey(p)) is { } missing)
                throw new InvalidDataException($"BPE merges.txt line {number} merges '{missing}', which vocab.json lacks.");
            if (!vocabulary.ContainsKey(parts[0] + parts[1]))
                throw new InvalidDataException($"BPE merges.txt line {number} merges into '{parts[0] + parts[1]}', which vocab.json lacks.");
            if (!seen.Add(line)) throw new InvalidDataException($"BPE merges.txt line {number} repeats the merge '{line}'.");
            merges.Add(line);
        }
        return merges;
    }
}
