using Pipelines.Models.Training;

namespace Pipelines.Models.Tests.Training;

/// <summary>The validation metrics BestBy selects by, against cases counted by hand.</summary>
[TestClass]
public sealed class ClassificationScoresTests
{
    [TestMethod]
    public void F1AndMacroF1CountTruePositivesFalsePositivesAndFalseNegatives()
    {
        int[] gold = [1, 1, 0, 0, 1, 0];
        int[] predicted = [1, 0, 1, 0, 1, 0];
        // Class 1: TP 2, FP 1, FN 1 -> 4 / 6. Class 0: TP 2, FP 1, FN 1 -> 4 / 6.
        Assert.AreEqual(4.0 / 6, ClassificationScores.BinaryF1(gold, predicted), 1e-12);
        Assert.AreEqual(4.0 / 6, ClassificationScores.MacroF1(gold, predicted), 1e-12);
        // Three classes: class 2 never predicted (F1 0), class 0 TP 1 FP 1 (2/3), class 1 TP 1 FN 0 FP 0 (1).
        Assert.AreEqual((0 + 2.0 / 3 + 1) / 3, ClassificationScores.MacroF1([0, 1, 2], [0, 1, 0]), 1e-12);
        Assert.AreEqual(0, ClassificationScores.BinaryF1([0, 0], [0, 0]), "no positive at all");
    }

    [TestMethod]
    public void AucIsTheChanceAPositiveOutscoresANegativeWithTiesCountingHalf()
    {
        // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of the 4 pairs ordered right.
        Assert.AreEqual(0.75, ClassificationScores.Auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 1e-12);
        Assert.AreEqual(0.5, ClassificationScores.Auc([0, 1], [0.3, 0.3]), 1e-12, "a tie counts half");
        Assert.AreEqual(1.0, ClassificationScores.Auc([0, 1, 1], [0.1, 0.2, 0.9]), 1e-12);
        Assert.IsTrue(double.IsNaN(ClassificationScores.Auc([1, 1], [0.1, 0.2])), "one class: no AUC");
    }
}
