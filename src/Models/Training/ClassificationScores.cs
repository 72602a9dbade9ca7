namespace Pipelines.Models.Training;

/// <summary>The task metrics validation reports beside loss and accuracy, so that <see cref="BestBy"/> can select by them.</summary>
public static class ClassificationScores
{
    /// <summary>F1 of class 1 (the positive class): 2 TP / (2 TP + FP + FN); 0 when there is no positive, gold or predicted.</summary>
    public static double BinaryF1(IReadOnlyList<int> gold, IReadOnlyList<int> predicted) => F1(gold, predicted, 1);

    /// <summary>The mean over the classes seen in <paramref name="gold"/> or <paramref name="predicted"/> of each class's F1.</summary>
    public static double MacroF1(IReadOnlyList<int> gold, IReadOnlyList<int> predicted) =>
        gold.Concat(predicted).Distinct().Select(c => F1(gold, predicted, c)).DefaultIfEmpty(0).Average();

    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for the positive class (1): the chance that
    /// a random positive outscores a random negative, ties counting half (Mann-Whitney); NaN without both classes.
    /// </summary>
    public static double Auc(IReadOnlyList<int> gold, IReadOnlyList<double> scores)
    {
        var ranks = AverageRanks(scores);
        double positives = gold.Count(g => g == 1), negatives = gold.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        var rankSum = Enumerable.Range(0, gold.Count).Where(i => gold[i] == 1).Sum(i => ranks[i]);
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>Each value's rank from 1 (smallest) up, tied values sharing their mean rank (as Mann-Whitney and Spearman use them).</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            for (var k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0 + 1;
            start = end + 1;
        }
        return ranks;
    }

    private static double F1(IReadOnlyList<int> gold, IReadOnlyList<int> predicted, int positive)
    {
        int truePositives = 0, falsePositives = 0, falseNegatives = 0;
        for (var i = 0; i < gold.Count; i++)
        {
            if (predicted[i] == positive && gold[i] == positive) truePositives++;
            else if (predicted[i] == positive) falsePositives++;
            else if (gold[i] == positive) falseNegatives++;
        }
        var denominator = 2 * truePositives + falsePositives + falseNegatives;
        return denominator == 0 ? 0 : 2.0 * truePositives / denominator;
    }
}
