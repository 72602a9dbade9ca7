namespace Pipelines.Transforms.Tests;

/// <summary>tiktoken and byte-level BPE: end-of-text plays [CLS]/[SEP], missing roles are appended.</summary>
[TestClass]
public sealed class GptStyleTokenizerTests
{
    private const string Sample = "Hello world.\n\nNext  line: naïve café, 😀 ünïcödé & code_42();";

    [TestMethod]
    [DataRow("cl100k_base", 100257, 100277)]
    [DataRow("o200k_base", 199999, 200019)]
    public void TiktokenRoundTripsExactlyWithEndOfTextAsSeparator(string encoding, int endOfText, int vocabulary)
    {
        var tokenizer = TextTokenizer.FromTiktoken(encoding);
        Assert.AreEqual(endOfText, tokenizer.SepId);
        Assert.AreEqual(endOfText, tokenizer.ClsId);
        // <|pad|>, <|unk|>, <|mask|> appended after the encoding's last id.
        Assert.AreEqual(vocabulary + 3, tokenizer.VocabSize);
        CollectionAssert.AreEqual(new[] { "<|pad|>", "<|unk|>", "<|mask|>" }, tokenizer.AppendedTokens.ToArray());
        Assert.AreEqual((vocabulary, vocabulary + 1, (int?)(vocabulary + 2)), (tokenizer.PadId, tokenizer.UnknownId, tokenizer.MaskId));

        var encoded = tokenizer.Encode(Sample);
        Assert.AreEqual(Sample, tokenizer.Decode(encoded.Ids));
        Assert.AreEqual(0, encoded.UnknownCount);
        Assert.AreEqual("<|endoftext|>Hi<|endoftext|><|pad|>", tokenizer.Decode([.. tokenizer.Encode("Hi").Ids, tokenizer.PadId], skipSpecial: false));
    }

    [TestMethod]
    public void TiktokenIdsAreTheLibrarysIds()
    {
        var tokenizer = TextTokenizer.FromTiktoken("cl100k_base");
        var direct = tokenizer.LibraryTokenizer!.EncodeToIds(Sample);
        CollectionAssert.AreEqual(direct.ToArray(), tokenizer.Encode(Sample, addSpecialTokens: false).Ids);
    }

    [TestMethod]
    public void WordIdsFollowTheWordATokenStartsIn()
    {
        var tokenizer = TextTokenizer.FromTiktoken("cl100k_base");
        var encoded = tokenizer.Encode("Hello world.\n\nNext", addSpecialTokens: false);
        // "Hello", " world", ".\n\n", "Next": the space belongs to the word after it, the newlines to the word before.
        CollectionAssert.AreEqual(new[] { 9906, 1917, 382, 5971 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { 0, 1, 1, 2 }, encoded.WordIds);
    }

    [TestMethod]
    public void ByteLevelBpeRoundTripsAndUsesItsMerges()
    {
        var tokenizer = Vocabularies.Bpe();
        var eot = 256 + 8;
        Assert.AreEqual((eot, eot), (tokenizer.ClsId, tokenizer.SepId));
        var encoded = tokenizer.Encode("the cat sat", addSpecialTokens: false);
        // Byte b has id b; merges are 256.. in order. "the" = t + he(257); " cat" = Ġcat(261);
        // " sat" = Ġ(32) s(115) at(260): "a t" outranks "s a", and no merge joins Ġ+s or s+at.
        CollectionAssert.AreEqual(new[] { 116, 257, 261, 32, 115, 260 }, encoded.Ids);
        // The lone space piece belongs to no word: the first piece of "sat" is "s".
        CollectionAssert.AreEqual(new[] { 0, 0, 1, -1, 2, 2 }, encoded.WordIds);
        Assert.AreEqual(Sample, tokenizer.Decode(tokenizer.Encode(Sample).Ids));
    }

    [TestMethod]
    public void MalformedBpeFilesAreRejectedWithTheReason()
    {
        var (vocab, _) = Vocabularies.ByteLevelBpe();
        var badMerge = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.FromBpe(new MemoryStream(vocab), new MemoryStream("q z\n"u8.ToArray())));
        StringAssert.Contains(badMerge.Message, "'qz'");
        var notJson = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.FromBpe(new MemoryStream("[1,2]"u8.ToArray()), new MemoryStream()));
        StringAssert.Contains(notJson.Message, "vocab.json");
    }

    [TestMethod]
    public void CompactTiktokenKeepsTheMostFrequentIdsAndMapsBack()
    {
        var full = TextTokenizer.FromTiktoken("cl100k_base");
        string[] corpus = ["the cat sat on the mat", "the cat", "the"];
        var compact = full.Compact(corpus, keep: 2);
        // "the" opens all three texts, " cat" follows it twice; everything else occurs once.
        var baseIds = full.Encode("the cat", addSpecialTokens: false).Ids;
        CollectionAssert.AreEqual(baseIds, compact.CompactBaseIds!.ToArray());
        Assert.AreEqual(2, compact.UnknownId);
        Assert.AreEqual(2 + 1 + 3, compact.VocabSize); // kept + unknown + <|endoftext|>, <|pad|>, <|mask|> appended
        Assert.AreEqual((3, 3, 4, (int?)5), (compact.ClsId, compact.SepId, compact.PadId, compact.MaskId));
        CollectionAssert.AreEqual(new[] { 3, 0, 1, 2, 3 }, compact.Encode("the cat sat").Ids);
        Assert.AreEqual("the cat", compact.Decode(compact.Encode("the cat").Ids));
        Assert.AreEqual("the\uFFFD", compact.Decode(compact.Encode("the dog").Ids));
        Assert.AreEqual(1, compact.Encode("the dog").UnknownCount);
    }

    [TestMethod]
    public void UnknownTiktokenEncodingIsRejectedWithTheKnownOnes()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => TextTokenizer.FromTiktoken("p50k_base"));
        StringAssert.Contains(e.Message, "cl100k_base, o200k_base");
    }
}
