namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class CharacterTokenizerTests
{
    [TestMethod]
    public void CharactersRoundTripWithAppendedSpecialTokens()
    {
        var vocabulary = CharacterVocabulary.Build(["ab c"]);
        var tokenizer = TextTokenizer.FromCharacters(vocabulary);
        // ' ', a, b, c, unknown = 4; then <pad> 5, <bos> 6, <eos> 7, <mask> 8.
        Assert.AreEqual(9, tokenizer.VocabSize);
        Assert.AreEqual((5, 4, 6, 7, (int?)8), (tokenizer.PadId, tokenizer.UnknownId, tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId));
        var encoded = tokenizer.Encode("ab  c");
        CollectionAssert.AreEqual(new[] { 6, 1, 2, 0, 0, 3, 7 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { -1, 0, 0, -1, -1, 1, -1 }, encoded.WordIds);
        Assert.AreEqual("ab  c", tokenizer.Decode(encoded.Ids));
        Assert.AreEqual("<bos>ab  c<eos>", tokenizer.Decode(encoded.Ids, skipSpecial: false));
    }

    [TestMethod]
    public void UnknownCharactersAndLoneSurrogatesAreCountedAsUnknown()
    {
        var tokenizer = Vocabularies.Characters();
        var encoded = tokenizer.Encode("cat\uD800 z😀");
        Assert.AreEqual(2, encoded.UnknownCount); // the lone surrogate and 'z'; the emoji is in the vocabulary
        Assert.AreEqual("cat\uFFFD \uFFFD😀", tokenizer.Decode(encoded.Ids));
    }
}
