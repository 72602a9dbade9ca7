
namespace Pipelines.Estimators.Tests.TokenClassification;

[TestClass]
public sealed class EntityMetricsTests
{
    private static (IReadOnlyList<string>, IReadOnlyList<string>) Pair(string gold, string predicted) => (gold.Split(' '), predicted.Split(' '));

    [TestMethod]
    public void MatchesSeqevalsDocumentedExample()
    {
        // seqeval's README: MISC predicted one word too early (wrong span), PER right.
        // classification_report: MISC 0/0/0 support 1, PER 1/1/1 support 1, micro 0.5, macro 0.5; accuracy_score 0.8.
        var metrics = EntityMetrics.Compute(
        [
            Pair("O O O B-MISC I-MISC I-MISC O", "O O B-MISC I-MISC I-MISC I-MISC O"),
            Pair("B-PER I-PER O", "B-PER I-PER O"),
        ]);
        Assert.AreEqual(0.0, metrics.PerType["MISC"].F1);
        Assert.AreEqual(1.0, metrics.PerType["PER"].F1);
        Assert.AreEqual(0.5, metrics.Micro.Precision, 1e-12);
        Assert.AreEqual(0.5, metrics.Micro.Recall, 1e-12);
        Assert.AreEqual(0.5, metrics.Micro.F1, 1e-12);
        Assert.AreEqual(0.5, metrics.Macro.F1, 1e-12);
        Assert.AreEqual(0.8, metrics.TokenAccuracy, 1e-12);
        Assert.AreEqual(2, metrics.Micro.Support);
    }

    [TestMethod]
    public void MicroAndMacroAveragesDifferAsDefined()
    {
        // 3 gold PER, 2 predicted, both right: P 1, R 2/3. 1 gold LOC, 2 predicted, one right: P 1/2, R 1.
        var metrics = EntityMetrics.Compute(
        [
            Pair("B-PER O B-PER O B-PER B-LOC O", "B-PER O B-PER O O B-LOC B-LOC"),
        ]);
        Assert.AreEqual(2.0 / 3, metrics.PerType["PER"].Recall, 1e-12);
        Assert.AreEqual(0.8, metrics.PerType["PER"].F1, 1e-12);
        Assert.AreEqual(0.5, metrics.PerType["LOC"].Precision, 1e-12);
        Assert.AreEqual(2.0 / 3, metrics.PerType["LOC"].F1, 1e-12);
        Assert.AreEqual(3.0 / 4, metrics.Micro.Precision, 1e-12);   // 3 right of 4 predicted
        Assert.AreEqual(3.0 / 4, metrics.Micro.Recall, 1e-12);      // 3 found of 4 gold
        Assert.AreEqual((0.8 + 2.0 / 3) / 2, metrics.Macro.F1, 1e-12);
        StringAssert.Contains(metrics.ToString(), "micro avg");
        StringAssert.Contains(metrics.ToString(), "0.7500");
    }

    [TestMethod]
    public void Iob1AndIob2OfTheSameEntitiesScoreTheSame()
    {
        var iob1 = "I-ORG I-ORG B-ORG O I-PER I-LOC I-LOC".Split(' ');
        CollectionAssert.AreEqual(new[] { new Entity("ORG", 0, 2), new Entity("ORG", 2, 3), new Entity("PER", 4, 5), new Entity("LOC", 5, 7) },
            EntityTags.Extract(iob1));
        var iob2 = EntityTags.ToIob2(iob1);
        CollectionAssert.AreEqual("B-ORG I-ORG B-ORG O B-PER B-LOC I-LOC".Split(' '), iob2);
        CollectionAssert.AreEqual(iob1, EntityTags.ToIob1(iob2));
        Assert.IsTrue(EntityTags.OpensWithInside(iob1));
        Assert.IsFalse(EntityTags.OpensWithInside(iob2));
        Assert.AreEqual(1.0, EntityMetrics.Compute([(iob1, iob2)]).Micro.F1);
    }

    [TestMethod]
    public void SpansMustMatchExactlyAndTypesToo()
    {
        var metrics = EntityMetrics.Compute([Pair("B-PER I-PER O B-LOC", "B-PER O O B-ORG")]);
        Assert.AreEqual(0.0, metrics.Micro.F1);
        Assert.AreEqual(0.5, metrics.TokenAccuracy);
        Assert.AreEqual(3, metrics.PerType.Count);               // ORG is listed with support 0
        Assert.AreEqual(0, metrics.PerType["ORG"].Support);
    }

    [TestMethod]
    public void SentencesOfDifferentLengthAreAnError()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => EntityMetrics.Compute([Pair("O O", "O O"), Pair("O B-PER", "O")]));
        StringAssert.Contains(error.Message, "Sentence 1");
    }
}
