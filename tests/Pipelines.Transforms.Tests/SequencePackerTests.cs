namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class SequencePackerTests
{
    [TestMethod]
    public void DocumentsAreJoinedBySeparatorsAndCutIntoFullBlocks()
    {
        int[][] documents = [[1, 2, 3], [4, 5], [6, 7, 8, 9]];
        var blocks = SequencePacker.Pack(documents, blockSize: 4, separatorId: 0).ToArray();
        // Stream: 1 2 3 0 4 5 0 6 7 8 9 0 -> three blocks of four.
        Assert.HasCount(3, blocks);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 0 }, blocks[0]);
        CollectionAssert.AreEqual(new[] { 4, 5, 0, 6 }, blocks[1]);
        CollectionAssert.AreEqual(new[] { 7, 8, 9, 0 }, blocks[2]);
    }

    [TestMethod]
    public void TheLastPartialBlockIsDroppedUnlessAskedFor()
    {
        int[][] documents = [[1, 2, 3, 4, 5]];
        Assert.HasCount(1, SequencePacker.Pack(documents, 4, 0).ToArray());
        var kept = SequencePacker.Pack(documents, 4, 0, keepLastPartialBlock: true).ToArray();
        CollectionAssert.AreEqual(new[] { 5, 0 }, kept[1]);
    }

    [TestMethod]
    public void TextsArePackedWithTheTokenizersSeparatorAndNoOtherSpecialTokens()
    {
        var tokenizer = Vocabularies.WordPiece();
        var blocks = SequencePacker.Pack(tokenizer, ["the cat", "sat on", "the mat"], blockSize: 3).ToArray();
        // the cat [SEP] sat on [SEP] the mat [SEP]
        CollectionAssert.AreEqual(new[] { 10, 11, 3, 12, 13, 3, 10, 14, 3 }, blocks.SelectMany(b => b).ToArray());
        Assert.IsFalse(blocks.SelectMany(b => b).Contains(tokenizer.ClsId));
    }

    [TestMethod]
    public void BlockSizeBelowOneIsRejected() =>
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SequencePacker.Pack([[1]], 0, 0));
}
