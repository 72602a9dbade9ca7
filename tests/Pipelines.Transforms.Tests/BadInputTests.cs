namespace Pipelines.Transforms.Tests;

/// <summary>Defined behaviour for awkward text, for every tokenizer family.</summary>
[TestClass]
public sealed class BadInputTests
{
    public static IEnumerable<object[]> Tokenizers() =>
    [
        ["wordpiece", Vocabularies.WordPiece()],
        ["bpe", Vocabularies.Bpe()],
        ["cl100k", TextTokenizer.FromTiktoken("cl100k_base")],
        ["chars", Vocabularies.Characters()],
        ["sentencepiece", Vocabularies.SentencePiece()],
    ];

    [TestMethod]
    [DynamicData(nameof(Tokenizers))]
    public void NullAndEmptyTextGiveOnlyTheSpecialTokens(string name, TextTokenizer tokenizer)
    {
        CollectionAssert.AreEqual(new[] { tokenizer.ClsId, tokenizer.SepId }, tokenizer.Encode(null).Ids, name);
        CollectionAssert.AreEqual(new[] { tokenizer.ClsId, tokenizer.SepId }, tokenizer.Encode("").Ids, name);
        CollectionAssert.AreEqual(new[] { tokenizer.ClsId, tokenizer.SepId }, tokenizer.Encode("  \n\t ").Ids.Where(id => id == tokenizer.ClsId || id == tokenizer.SepId).ToArray(), name);
        Assert.AreEqual("", tokenizer.Decode(tokenizer.Encode(null).Ids), name);
    }

    [TestMethod]
    [DynamicData(nameof(Tokenizers))]
    public void AMegabyteTextIsCutToMaxLengthQuickly(string name, TextTokenizer tokenizer)
    {
        var text = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", (1 << 20) / 24 + 1));
        Assert.IsGreaterThan(1_000_000, text.Length);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var encoded = tokenizer.Encode(text, maxLength: 128);
        Assert.HasCount(128, encoded.Ids, name);
        Assert.IsTrue(encoded.IsTruncated, name);
        Assert.AreEqual(tokenizer.SepId, encoded.Ids[^1], name);
        Assert.IsLessThan(2000, started.ElapsedMilliseconds, name);
    }

    [TestMethod]
    [DynamicData(nameof(Tokenizers))]
    public void ControlCharactersEmojiAndLoneSurrogatesEncodeAndDecode(string name, TextTokenizer tokenizer)
    {
        var text = "a\u0000b\u0007c\u001F the 😀 cat \uD800 mat \uDC00";
        var encoded = tokenizer.Encode(text);
        Assert.AreEqual(tokenizer.ClsId, encoded.Ids[0], name);
        Assert.IsTrue(encoded.Ids.All(id => id >= 0 && id < tokenizer.VocabSize), name);
        var decoded = tokenizer.Decode(encoded.Ids);
        // Words made of known pieces survive in every family.
        StringAssert.Contains(decoded, "the", name);
        StringAssert.Contains(decoded, "cat", name);
    }

    [TestMethod]
    public void WordPieceCountsUnknownWordsAndDropsControlCharacters()
    {
        var tokenizer = Vocabularies.WordPiece();
        var encoded = tokenizer.Encode("the\u0007 😀 zebra \uD800 cat");
        // the, [UNK] (the emoji, not in the vocabulary), [UNK] (zebra), [UNK] (a word with a lone
        // surrogate), cat: the control character after "the" is removed by BERT's normalizer.
        CollectionAssert.AreEqual(new[] { 2, 10, 1, 1, 1, 11, 3 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { -1, 0, 1, 2, 3, 4, -1 }, encoded.WordIds);
        Assert.AreEqual(3, encoded.UnknownCount);
    }

    [TestMethod]
    public void AByteSwappedByteOrderMarkIsAnUnknownWordNotAFailedPass()
    {
        // U+FFFE makes .NET's Unicode normalization throw; the word holding it becomes [UNK].
        var tokenizer = Vocabularies.WordPiece();
        var encoded = tokenizer.Encode("the \uFFFEcat cat");
        CollectionAssert.AreEqual(new[] { 2, 10, 1, 11, 3 }, encoded.Ids);
        Assert.AreEqual(1, encoded.UnknownCount);
        // Vocabulary training reads it as a word boundary.
        var vocabulary = WordPieceTrainer.Train(["the\uFFFEcat sat", "the cat"], new WordPieceTrainerOptions { VocabularySize = 60 });
        CollectionAssert.Contains(vocabulary.ToList(), "cat");
    }

    [TestMethod]
    public void VocabularyTrainingOnTextsWithoutWordsIsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => WordPieceTrainer.TrainTokenizer(["", "   ", "\n\t", null]));
        StringAssert.Contains(error.Message, "no word to learn a vocabulary from");
    }

    [TestMethod]
    public void ByteLevelVocabulariesRoundTripControlCharactersAndEmojiExactly()
    {
        var text = "a\u0000b\u0007c\u001F the 😀 cat";
        foreach (var tokenizer in new[] { Vocabularies.Bpe(), TextTokenizer.FromTiktoken("cl100k_base") })
        {
            var encoded = tokenizer.Encode(text);
            Assert.AreEqual(text, tokenizer.Decode(encoded.Ids));
            Assert.AreEqual(0, encoded.UnknownCount);
        }
    }

    [TestMethod]
    public void WordPieceKeepsWordsApartAcrossLineBreaksAndTabs()
    {
        // Microsoft.ML.Tokenizers' BERT normalizer deletes '\n' and '\t' (control characters), so the
        // library alone encodes "hello\nworld" as the one unknown word "helloworld".
        var tokenizer = Vocabularies.WordPiece();
        var library = (Microsoft.ML.Tokenizers.BertTokenizer)tokenizer.LibraryTokenizer!;
        CollectionAssert.AreEqual(new[] { 1 }, library.EncodeToIds("hello\nworld", addSpecialTokens: false).ToArray());
        CollectionAssert.AreEqual(new[] { 2, 5, 6, 10, 3 }, tokenizer.Encode("hello\nworld\tthe").Ids);
        CollectionAssert.AreEqual(new[] { -1, 0, 1, 2, -1 }, tokenizer.Encode("hello\nworld\tthe").WordIds);
    }

    [TestMethod]
    public void WordPieceKeepsSymbolsAsTokens()
    {
        // Microsoft.ML.Tokenizers' default BERT pre-tokenizer would drop '>' and '=' silently.
        var tokenizer = TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", ">", "=", "a", "b"]);
        CollectionAssert.AreEqual(new[] { 4, 6, 5, 7 }, tokenizer.Encode("> a=b", addSpecialTokens: false).Ids);
        CollectionAssert.AreEqual(new[] { 0, 1, 1, 1 }, tokenizer.Encode("> a=b", addSpecialTokens: false).WordIds);
    }

    [TestMethod]
    public void SpecialTokenTextInWordPieceInputIsOrdinaryText()
    {
        var tokenizer = Vocabularies.WordPiece();
        var encoded = tokenizer.Encode("[MASK] cat");
        Assert.IsFalse(encoded.Ids.Contains(tokenizer.MaskId!.Value));
    }
}
