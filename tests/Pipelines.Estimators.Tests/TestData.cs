namespace Pipelines.Estimators.Tests;

/// <summary>Finds the data shipped in the repository (data/) and the shared data folder beside it.</summary>
internal static class TestData
{
    public static string Shakespeare => Find("data/tinyshakespeare/input.txt")
        ?? throw new FileNotFoundException("data/tinyshakespeare/input.txt is part of the repository and was not found.");

    /// <summary>A file of the shared data folder (../shared/data beside the repository), or null when absent.</summary>
    public static string? Shared(string relative) => Find(Path.Combine("shared", "data", relative)) ?? Find(Path.Combine("..", "shared", "data", relative));

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
