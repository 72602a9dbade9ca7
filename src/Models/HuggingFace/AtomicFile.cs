namespace Pipelines.Models.HuggingFace;

/// <summary>Writes a file through a temporary file in the same directory and a rename, so readers never see half of it.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text));

    public static void Copy(string source, string path)
    {
        if (string.Equals(Path.GetFullPath(source), Path.GetFullPath(path), StringComparison.Ordinal)) return;
        Write(path, temporary => File.Copy(source, temporary));
    }

    private static void Write(string path, Action<string> write)
    {
        var target = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(temporary);
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
