namespace Pipelines.Estimators.Tests;

/// <summary>Finds the data shipped in the repository (data/) and the shared data folder beside it.</summary>
internal static class TestData
{
    public static string Shakespeare => Find("data/tinyshakespeare/input.txt")
        ?? throw new FileNotFoundException("data/tinyshakespeare/input.txt is part of the repository and was not found.");

    /// <summary>A file of the shared data folder (../shared/data beside the repository), or null when absent.</summary>
    public static string? Shared(string relative) => Find(Path.Combine("shared", "data", relative)) ?? Find(Path.Combine("..", "shared", "data", relative));

    /// <summary><paramref name="take"/> SpamAssassin mails of one split ("train" or "test") from the repository's data/, shuffled (the file is sorted by source).</summary>
    public static List<SyntheticMail.Mail> SpamMails(string split, int take)
    {
        var path = Find("data/spamassassin/emails.jsonl.gz")
            ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz is part of the repository and was not found.");
        using var reader = new StreamReader(new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress));
        var mails = new List<SyntheticMail.Mail>();
        while (reader.ReadLine() is { } line)
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            var mail = json.RootElement;
            if (mail.GetProperty("split").GetString() != split) continue;
            mails.Add(new SyntheticMail.Mail
            {
                Text = $"{mail.GetProperty("subject").GetString()}\n{mail.GetProperty("body").GetString()}",
                Label = mail.GetProperty("label").GetString() == "spam",
            });
        }
        var shuffled = mails.ToArray();
        new Random(1).Shuffle(shuffled);
        return shuffled.Take(take).ToList();
    }

    private static string? Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.GetFullPath(Path.Combine(dir.FullName, relative));
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
