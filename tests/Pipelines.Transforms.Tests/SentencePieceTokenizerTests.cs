namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class SentencePieceTokenizerTests
{
    private static TextTokenizer Small() => TextTokenizer.FromSentencePiece(new MemoryStream(SentencePieceModels.SmallBpe()));

    [TestMethod]
    public void WordsBecomeTheirMergedPiecesAndDecodeBack()
    {
        var tokenizer = Small();
        var encoding = tokenizer.Encode("the cat sat on the mat", addSpecialTokens: false);
        var pieces = encoding.Ids.Select(id => tokenizer.Decode([id], skipSpecial: false)).ToList();
        Assert.AreEqual(6, encoding.Ids.Length, string.Join("|", pieces));
        Assert.AreEqual("the cat sat on the mat", tokenizer.Decode(encoding.Ids).Trim());
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 4, 5 }, encoding.WordIds.ToArray(), "one piece per word here");
    }

    [TestMethod]
    public void BpeMergesByScoreMultiPieceWordsShareTheirWordIdAndRunsOfSpaceDecodeAsOne()
    {
        var tokenizer = Small();
        var encoding = tokenizer.Encode("hello   world", addSpecialTokens: false);
        Assert.AreEqual("hello world", tokenizer.Decode(encoding.Ids).Trim());
        // "he" outranks "▁h", so "▁hello" is never reached: ▁ he ll o (the way SentencePiece's BPE merges).
        string[] hello = ["▁", "he", "ll", "o"];
        CollectionAssert.AreEqual(hello.Select(SentencePieceModels.Id).ToArray(), encoding.Ids[..4]);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0 }, encoding.WordIds[..4]);
        Assert.IsTrue(encoding.WordIds[4..].All(w => w == 1), "world, in pieces, is word 1");
        Assert.IsGreaterThan(1, encoding.WordIds.Length - 4);
    }

    [TestMethod]
    public void UnknownCharactersBecomeTheUnknownIdAndAreCounted()
    {
        var tokenizer = Small();
        var encoding = tokenizer.Encode("the zebra", addSpecialTokens: false);
        Assert.IsGreaterThan(0, encoding.UnknownCount);
        Assert.IsTrue(encoding.Ids.All(id => id >= 0 && id < tokenizer.VocabSize));
    }

    [TestMethod]
    public void SpecialTokensFrameTheTextAndTheSavedTokenizerEncodesTheSame()
    {
        var tokenizer = Small();
        var framed = tokenizer.Encode("hello cat", "the mat");
        Assert.AreEqual(tokenizer.ClsId, framed.Ids[0]);
        Assert.AreEqual(tokenizer.SepId, framed.Ids[^1]);
        using var saved = new MemoryStream();
        tokenizer.Save(saved);
        saved.Position = 0;
        var loaded = TextTokenizer.Load(saved);
        Assert.AreEqual(TokenizerKind.SentencePiece, loaded.Kind);
        CollectionAssert.AreEqual(framed.Ids.ToArray(), loaded.Encode("hello cat", "the mat").Ids.ToArray());
    }

    [TestMethod]
    public void BytesThatAreNoModelAreRefused()
    {
        var error = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromSentencePiece(new MemoryStream([1, 2, 3, 4, 5])));
        StringAssert.Contains(error.Message, "SentencePiece");
    }
}
