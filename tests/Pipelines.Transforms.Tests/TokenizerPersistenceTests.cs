namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class TokenizerPersistenceTests
{
    private const string Sample = "The cat sat on the mat, unbelievable! Hello world 😀 naïve\n\nline";

    public static IEnumerable<object[]> Tokenizers() =>
    [
        ["wordpiece", Vocabularies.WordPiece()],
        ["wordpiece-cased", Vocabularies.WordPiece(lowerCase: false)],
        ["bpe", Vocabularies.Bpe()],
        ["cl100k", TextTokenizer.FromTiktoken("cl100k_base")],
        ["o200k-compact", TextTokenizer.FromTiktoken("o200k_base").Compact([Sample, "the cat"], keep: 5)],
        ["chars", Vocabularies.Characters()],
        ["sentencepiece", Vocabularies.SentencePiece()],
    ];

    private static TextTokenizer RoundTrip(TextTokenizer tokenizer)
    {
        using var stream = new MemoryStream();
        tokenizer.Save(stream);
        stream.Position = 0;
        return TextTokenizer.Load(stream);
    }

    [TestMethod]
    [DynamicData(nameof(Tokenizers))]
    public void SavedTokenizerLoadsWithIdenticalEncodingAndSpecialIds(string name, TextTokenizer tokenizer)
    {
        var loaded = RoundTrip(tokenizer);
        Assert.AreEqual(tokenizer.Kind, loaded.Kind, name);
        Assert.AreEqual(tokenizer.VocabSize, loaded.VocabSize, name);
        Assert.AreEqual((tokenizer.PadId, tokenizer.UnknownId, tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId),
            (loaded.PadId, loaded.UnknownId, loaded.ClsId, loaded.SepId, loaded.MaskId), name);
        var before = tokenizer.Encode(Sample, "the cat");
        var after = loaded.Encode(Sample, "the cat");
        CollectionAssert.AreEqual(before.Ids, after.Ids, name);
        CollectionAssert.AreEqual(before.WordIds, after.WordIds, name);
        Assert.AreEqual(tokenizer.Decode(before.Ids), loaded.Decode(after.Ids), name);
    }

    [TestMethod]
    public void TheFingerprintSurvivesSavingAndTellsVocabulariesApart()
    {
        var fingerprints = Tokenizers().Select(t => ((TextTokenizer)t[1]).Fingerprint).ToList();
        Assert.AreEqual(fingerprints.Count, fingerprints.Distinct().Count(), "every vocabulary, casing and compaction differs");
        foreach (var row in Tokenizers())
        {
            var tokenizer = (TextTokenizer)row[1];
            Assert.AreEqual(64, tokenizer.Fingerprint.Length, "SHA-256 in hex");
            Assert.AreEqual(tokenizer.Fingerprint, RoundTrip(tokenizer).Fingerprint, (string)row[0]);
        }
        Assert.AreEqual(Vocabularies.WordPiece().Fingerprint, Vocabularies.WordPiece().Fingerprint, "made twice the same way");
    }

    [TestMethod]
    public void WordPieceSaveKeepsTheCasingOption()
    {
        var cased = RoundTrip(Vocabularies.WordPiece(lowerCase: false));
        Assert.AreEqual(cased.UnknownId, cased.Encode("Hello", addSpecialTokens: false).Ids.Single());
    }

    [TestMethod]
    public void ForeignBytesAreRejectedWithAClearMessage()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.Load(new MemoryStream("\u0005HELLOxxxx"u8.ToArray())));
        StringAssert.Contains(e.Message, "Not a saved tokenizer");
    }

    [TestMethod]
    public void TruncatedBytesAreRejected()
    {
        using var stream = new MemoryStream();
        Vocabularies.WordPiece().Save(stream);
        var bytes = stream.ToArray();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.Load(new MemoryStream(bytes[..(bytes.Length / 2)])));
        StringAssert.Contains(e.Message, "truncated");
    }

    [TestMethod]
    public void ACorruptedVocabularyInsideTheBytesIsRejectedByName()
    {
        using var stream = new MemoryStream();
        TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "abc"]).Save(stream);
        var bytes = stream.ToArray();
        // Turn "[CLS]" into "[CLX]" inside the stored vocab.txt.
        var at = System.Text.Encoding.UTF8.GetString(bytes).IndexOf("[CLS]", StringComparison.Ordinal);
        bytes[at + 3] = (byte)'X';
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.Load(new MemoryStream(bytes)));
        StringAssert.Contains(e.Message, "[CLS]");
    }
}
