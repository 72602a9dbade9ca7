using System.Text;
using System.Text.Json;

namespace Pipelines.Transforms.Tests;

/// <summary>Small vocabularies written by the tests themselves (no vocabulary files can be downloaded here).</summary>
internal static class Vocabularies
{
    /// <summary>A tiny uncased BERT vocab.txt: ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK].</summary>
    public static readonly string[] WordPieceLines =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "hello", "world", ",", "!", ".", "the", "cat", "sat", "on", "mat",
        "un", "##believ", "##able", "play", "##ing", "##ed", "a", "b", "c", "cafe", "x", "##x",
    ];

    public static TextTokenizer WordPiece(bool lowerCase = true) =>
        TextTokenizer.FromWordPieceVocab(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", WordPieceLines) + "\n")), lowerCase);

    /// <summary>GPT-2's map from bytes to printable characters (byte-level BPE spells every byte with one of these).</summary>
    public static char[] ByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>A byte-level BPE: the 256 byte symbols, a few merges, and &lt;|endoftext|&gt;.</summary>
    public static (byte[] VocabJson, byte[] Merges) ByteLevelBpe()
    {
        var chars = ByteToChar();
        var vocab = new Dictionary<string, int>();
        foreach (var c in chars) vocab[c.ToString()] = vocab.Count;
        var space = chars[' '];
        string[] merges = [$"{space} t", "h e", $"{space}t he", $"{space} c", "a t", $"{space}c at", "s a", $"{space} sa"];
        foreach (var merge in merges) vocab[merge.Replace(" ", "")] = vocab.Count;
        vocab["<|endoftext|>"] = vocab.Count;
        return (JsonSerializer.SerializeToUtf8Bytes(vocab), Encoding.UTF8.GetBytes("#version: 0.2\n" + string.Join("\n", merges) + "\n"));
    }

    public static TextTokenizer Bpe()
    {
        var (vocab, merges) = ByteLevelBpe();
        return TextTokenizer.FromBpe(new MemoryStream(vocab), new MemoryStream(merges));
    }

    public static TextTokenizer Characters() =>
        TextTokenizer.FromCharacters(CharacterVocabulary.Build(["The cat sat on the mat. Hello, world! 😀"]));

    /// <summary>A small SentencePiece BPE model written by the tests (<see cref="SentencePieceModels"/>).</summary>
    public static TextTokenizer SentencePiece() => TextTokenizer.FromSentencePiece(new MemoryStream(SentencePieceModels.SmallBpe()));
}
