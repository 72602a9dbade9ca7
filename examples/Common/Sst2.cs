namespace Pipelines.Examples.Common;

/// <summary>
/// Reads the Stanford Sentiment Treebank's binary task (GLUE SST-2) from the shared data folder: train.tsv
/// (67,349 phrases and sentences) and test.tsv (1,821 sentences with their labels), "sentence TAB label" with a
/// header line. Not shipped with the project (research-use terms): benchmarks read it where it is present. Rows come
/// as <see cref="Email"/>s, the row type of the label-efficiency experiment: Label is true for positive.
/// </summary>
public static class Sst2
{
    /// <summary>The folder holding train.tsv and test.tsv, or null where the shared data has no SST-2.</summary>
    public static string? DefaultFolder => DataFiles.Find("data/sst2/train.tsv") is { } train ? Path.GetDirectoryName(train) : null;

    /// <summary>The training and test splits.</summary>
    public static (List<Email> Train, List<Email> Test) Load(string folder) =>
        (Read(Path.Combine(folder, "train.tsv"), "train"), Read(Path.Combine(folder, "test.tsv"), "test"));

    private static List<Email> Read(string path, string split) =>
        File.ReadLines(path).Skip(1).Where(line => line.Length > 0).Select((line, i) =>
        {
            var tab = line.LastIndexOf('\t');
            var label = tab < 0 ? "" : line[(tab + 1)..].Trim();
            if (label is not ("0" or "1")) throw new InvalidDataException($"{path}, row {i + 2}: expected 'sentence TAB 0|1'.");
            var positive = label == "1";
            return new Email { Id = $"{split}/{i}", Text = line[..tab].Trim(), Label = positive, PartialLabel = positive ? 1 : 0 };
        }).ToList();
}
