namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class WordPieceTokenizerTests
{
    private static readonly TextTokenizer Tokenizer = Vocabularies.WordPiece();

    [TestMethod]
    public void SpecialIdsComeFromTheVocabulary()
    {
        Assert.AreEqual(27, Tokenizer.VocabSize);
        (int pad, int unk, int cls, int sep, int? mask) = (Tokenizer.PadId, Tokenizer.UnknownId, Tokenizer.ClsId, Tokenizer.SepId, Tokenizer.MaskId);
        Assert.AreEqual((0, 1, 2, 3, (int?)4), (pad, unk, cls, sep, mask));
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2, 3, 4 }, Tokenizer.SpecialIds.ToArray());
        Assert.HasCount(0, Tokenizer.AppendedTokens);
    }

    [TestMethod]
    public void SingleTextIsFramedByClsAndSepWithWordIdsOfMultiPieceWords()
    {
        var encoded = Tokenizer.Encode("Unbelievable cat playing");
        // [CLS] un ##believ ##able cat play ##ing [SEP]
        CollectionAssert.AreEqual(new[] { 2, 15, 16, 17, 11, 18, 19, 3 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { -1, 0, 0, 0, 1, 2, 2, -1 }, encoded.WordIds);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 0, 0, 0, 0 }, encoded.SegmentIds);
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1, 1, 1, 1, 1 }, encoded.AttentionMask);
        Assert.IsFalse(encoded.IsTruncated);
    }

    [TestMethod]
    public void PairLayoutHasSegmentIdsAndWordIdsCountedPerText()
    {
        var encoded = Tokenizer.Encode("the cat", "sat on the mat");
        // [CLS] the cat [SEP] sat on the mat [SEP]
        CollectionAssert.AreEqual(new[] { 2, 10, 11, 3, 12, 13, 10, 14, 3 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 1, 1, 1, 1, 1 }, encoded.SegmentIds);
        CollectionAssert.AreEqual(new[] { -1, 0, 1, -1, 0, 1, 2, 3, -1 }, encoded.WordIds);
    }

    [TestMethod]
    public void PunctuationIsItsOwnPieceButStaysInItsWhitespaceWord()
    {
        var encoded = Tokenizer.Encode("hello, world!");
        CollectionAssert.AreEqual(new[] { 2, 5, 7, 6, 8, 3 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { -1, 0, 0, 1, 1, -1 }, encoded.WordIds);
    }

    [TestMethod]
    public void DecodeOfEncodeRoundTripsModuloLowerCase()
    {
        var text = "Hello, world! The cat sat on the mat.";
        Assert.AreEqual(text.ToLowerInvariant(), Tokenizer.Decode(Tokenizer.Encode(text).Ids));
        Assert.AreEqual("[CLS] hello [SEP]", Tokenizer.Decode(Tokenizer.Encode("hello").Ids, skipSpecial: false));
    }

    [TestMethod]
    public void SingleTextIsCutAtTheEnd()
    {
        var encoded = Tokenizer.Encode("the cat sat on the mat", maxLength: 5);
        CollectionAssert.AreEqual(new[] { 2, 10, 11, 12, 3 }, encoded.Ids);
        Assert.IsTrue(encoded.IsTruncated);
        Assert.IsFalse(Tokenizer.Encode("the cat sat", maxLength: 5).IsTruncated);
    }

    [TestMethod]
    public void PairsAreCutLongestFirstOrAtTheEnd()
    {
        // a = 6 tokens, b = 2 tokens, room for 5: longest-first keeps 3 + 2, end keeps 5 + 0.
        var longest = Tokenizer.Encode("the cat sat on the mat", "hello world", maxLength: 8);
        CollectionAssert.AreEqual(new[] { 2, 10, 11, 12, 3, 5, 6, 3 }, longest.Ids);
        Assert.IsTrue(longest.IsTruncated);
        var end = Tokenizer.Encode("the cat sat on the mat", "hello world", maxLength: 8, truncation: TruncationStrategy.End);
        CollectionAssert.AreEqual(new[] { 2, 10, 11, 12, 13, 10, 3, 3 }, end.Ids);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 0, 0, 0, 1 }, end.SegmentIds);
    }

    [TestMethod]
    public void PaddingFillsToMaxLengthWithPadIdAndZeroMask()
    {
        var encoded = Tokenizer.Encode("hello", maxLength: 6, padToMaxLength: true);
        CollectionAssert.AreEqual(new[] { 2, 5, 3, 0, 0, 0 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 0, 0, 0 }, encoded.AttentionMask);
        CollectionAssert.AreEqual(new[] { -1, 0, -1, -1, -1, -1 }, encoded.WordIds);
        Assert.AreEqual(3, encoded.Length);
    }

    [TestMethod]
    public void MaxLengthWithoutRoomForTextIsRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Encode("hello", maxLength: 2));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Encode("a", "b", maxLength: 3));
    }

    [TestMethod]
    public void DecodeRejectsIdsOutsideTheVocabulary()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Decode([5, 27]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    [TestMethod]
    public void VocabularyWithoutMaskHasNullMaskId()
    {
        var tokenizer = TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]);
        Assert.IsNull(tokenizer.MaskId);
        CollectionAssert.AreEqual(new[] { 2, 4, 3 }, tokenizer.Encode("a").Ids);
    }

    [TestMethod]
    public void VocabularyWithoutRequiredSpecialTokensIsRejectedByName()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[SEP]", "a"]));
        StringAssert.Contains(e.Message, "[CLS]");
        var duplicate = Assert.ThrowsExactly<InvalidDataException>(() => TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "a"]));
        StringAssert.Contains(duplicate.Message, "line 6");
    }
}
