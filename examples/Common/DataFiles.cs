namespace Pipelines.Examples.Common;

/// <summary>Finds the project's data: data/ in the repository, or a shared/data folder beside it.</summary>
public static class DataFiles
{
    /// <summary>The first of <paramref name="relatives"/> found walking up from the program's folder, or null.</summary>
    public static string? Find(params string[] relatives)
    {
        foreach (var relative in relatives)
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                foreach (var candidate in new[] { Path.Combine(dir.FullName, relative), Path.Combine(dir.FullName, "..", "shared", relative) })
                    if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        return null;
    }
}
