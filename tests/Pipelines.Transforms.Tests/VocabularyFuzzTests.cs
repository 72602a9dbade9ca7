using System.Text;
using Pipelines.Tests.Fuzzing;

namespace Pipelines.Transforms.Tests;

/// <summary>
/// Mutants of valid vocabulary files and saved tokenizers: each must load and then encode and
/// decode, or be refused with InvalidDataException; never another exception, a crash or a hang.
/// 1,000 mutants per format by default; PIPELINES_FUZZ_ITERATIONS=10000 for the long run,
/// PIPELINES_FUZZ_SEED to replay one.
/// </summary>
[TestClass]
public sealed class VocabularyFuzzTests
{
    private const string Sample = "The cat sat on the mat, unbelievable! Hello world 😀 naïve\n\nline";

    public TestContext TestContext { get; set; } = null!;

    private static void Use(TextTokenizer tokenizer)
    {
        var encoding = tokenizer.Encode(Sample, "the cat");
        Assert.IsTrue(encoding.Ids.All(id => id >= 0 && id < tokenizer.VocabSize), "an id outside the vocabulary");
        _ = tokenizer.Decode(encoding.Ids);
    }

    private void Fuzz(byte[] valid, Func<byte[], TextTokenizer> load)
    {
        Use(load(valid));
        var report = Fuzzer.Run(valid, bytes => Use(load(bytes)), e => e is InvalidDataException, defaultIterations: 1_000);
        TestContext.WriteLine(report.ToString());
        Assert.AreEqual(report.Iterations, report.Loaded + report.Refused);
    }

    [TestMethod]
    [Timeout(300_000)]
    public void MutatedWordPieceVocabTxtLoadsOrIsRefused() =>
        Fuzz(Encoding.UTF8.GetBytes(string.Join("\n", Vocabularies.WordPieceLines) + "\n"),
            bytes => TextTokenizer.FromWordPieceVocab(new MemoryStream(bytes)));

    [TestMethod]
    [Timeout(300_000)]
    public void MutatedBpeVocabJsonAndMergesLoadOrAreRefused()
    {
        var (vocab, merges) = Vocabularies.ByteLevelBpe();
        Fuzz(vocab, bytes => TextTokenizer.FromBpe(new MemoryStream(bytes), new MemoryStream(merges)));
        Fuzz(merges, bytes => TextTokenizer.FromBpe(new MemoryStream(vocab), new MemoryStream(bytes)));
    }

    [TestMethod]
    [Timeout(300_000)]
    public void MutatedSentencePieceModelsLoadOrAreRefused() =>
        Fuzz(SentencePieceModels.SmallBpe(), bytes => TextTokenizer.FromSentencePiece(new MemoryStream(bytes)));

    [TestMethod]
    [Timeout(300_000)]
    [DataRow("wordpiece")]
    [DataRow("bpe")]
    [DataRow("chars")]
    [DataRow("sentencepiece")]
    public void MutatedSavedTokenizersLoadOrAreRefused(string kind)
    {
        var tokenizer = kind switch
        {
            "wordpiece" => Vocabularies.WordPiece(), "bpe" => Vocabularies.Bpe(), "sentencepiece" => Vocabularies.SentencePiece(), _ => Vocabularies.Characters(),
        };
        using var saved = new MemoryStream();
        tokenizer.Save(saved);
        Fuzz(saved.ToArray(), bytes => TextTokenizer.Load(new MemoryStream(bytes)));
    }
}
