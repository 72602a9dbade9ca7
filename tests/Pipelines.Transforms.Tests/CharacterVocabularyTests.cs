namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class CharacterVocabularyTests
{
    [TestMethod]
    public void RoundTripsTheCorpusItWasBuiltFrom()
    {
        var corpus = "First Citizen:\nBefore we proceed any further, hear me speak. 😀";
        var vocabulary = CharacterVocabulary.Build([corpus]);
        Assert.AreEqual(corpus, vocabulary.Decode(vocabulary.Encode(corpus)));
        // 25 distinct scalars (the emoji, a surrogate pair, is one) + unknown.
        Assert.AreEqual(corpus.EnumerateRunes().Distinct().Count() + 1, vocabulary.Count);
    }

    [TestMethod]
    public void IdsFollowOrdinalOrderAndUnknownsMapToTheLastId()
    {
        var vocabulary = CharacterVocabulary.Build(["cab", null]);
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 3 }, vocabulary.Encode("abcz\uD800"));
        Assert.AreEqual("ab\uFFFD", vocabulary.Decode([0, 1, 3]));
    }

    [TestMethod]
    public void SymbolsRestoreAnIdenticalVocabulary()
    {
        var original = CharacterVocabulary.Build(["hello, world 😀"]);
        var restored = CharacterVocabulary.FromSymbols(original.Symbols);
        CollectionAssert.AreEqual(original.Encode("low 😀 ?"), restored.Encode("low 😀 ?"));
    }

    [TestMethod]
    public void OutOfRangeIdsAreRejected()
    {
        var vocabulary = CharacterVocabulary.Build(["ab"]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => vocabulary.Decode([5]));
    }
}
