using System.IO.Compression;
using System.Text.Json;

namespace Pipelines.Transforms.Tests;

/// <summary>
/// The project's data: the SpamAssassin corpus shipped in the repository's <c>data/</c>, and the
/// shared data folder, a <c>shared/data</c> (or <c>../shared/data</c>) found by walking up from the
/// test binaries. Tests that need the shared folder call <see cref="RequireFile"/>, which marks them
/// inconclusive where it is absent.
/// </summary>
internal static class SharedData
{
    public static string? Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
            }
        }
        return null;
    }

    public static string RequireFile(string relativePath)
    {
        var path = Folder() is { } folder ? Path.Combine(folder, relativePath) : null;
        if (path is null || !File.Exists(path)) Assert.Inconclusive($"shared/data/{relativePath} is not available here.");
        return path!;
    }

    /// <summary>SpamAssassin message bodies of one split ("train" or "test"), in file order.</summary>
    public static List<string> SpamBodies(string split, int take = int.MaxValue)
    {
        var bodies = new List<string>();
        foreach (var line in SpamLines())
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.GetProperty("split").GetString() != split) continue;
            bodies.Add(json.RootElement.GetProperty("body").GetString() ?? "");
            if (bodies.Count == take) break;
        }
        return bodies;
    }

    // The gzip the repository ships (always there), else the shared folder's plain copy.
    private static IEnumerable<string> SpamLines()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var shipped = Path.Combine(dir.FullName, "data", "spamassassin", "emails.jsonl.gz");
            if (!File.Exists(shipped)) continue;
            using var reader = new StreamReader(new GZipStream(File.OpenRead(shipped), CompressionMode.Decompress));
            while (reader.ReadLine() is { } line) yield return line;
            yield break;
        }
        foreach (var line in File.ReadLines(RequireFile("spamassassin/emails.jsonl"))) yield return line;
    }
}
