using System.IO.Compression;
using System.Text.Json;

namespace Pipelines.Examples.Common;

/// <summary>One mail of the SpamAssassin corpus.</summary>
public sealed class Email
{
    /// <summary>Subject and body, one text.</summary>
    public string Text { get; set; } = "";
    /// <summary>True for spam.</summary>
    public bool Label { get; set; }
    /// <summary>1 for spam, 0 for ham, NaN for a mail whose label is withheld (unlabelled).</summary>
    public float PartialLabel { get; set; }
    /// <summary>The corpus id (group/number).</summary>
    public string Id { get; set; } = "";
}

/// <summary>Reads the SpamAssassin corpus (data/spamassassin/emails.jsonl.gz, or the uncompressed file).</summary>
public static class SpamAssassin
{
    /// <summary>The default location: shipped in data/, or the shared data folder.</summary>
    public static string? DefaultPath =>
        DataFiles.Find("data/spamassassin/emails.jsonl.gz", "data/spamassassin/emails.jsonl");

    /// <summary>The train and test splits as the corpus defines them.</summary>
    public static (List<Email> Train, List<Email> Test) Load(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var train = new List<Email>();
        var test = new List<Email>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var spam = root.GetProperty("label").GetString() == "spam";
            var email = new Email
            {
                Id = root.GetProperty("id").GetString() ?? "",
                Text = $"{root.GetProperty("subject").GetString()}\n{root.GetProperty("body").GetString()}",
                Label = spam, PartialLabel = spam ? 1 : 0,
            };
            (root.GetProperty("split").GetString() == "test" ? test : train).Add(email);
        }
        return (train, test);
    }
}
