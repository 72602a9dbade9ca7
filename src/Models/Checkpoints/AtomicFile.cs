namespace Pipelines.Models.Checkpoints;

/// <summary>
/// Writes a file through a temporary file in the same directory, flushed to disk, and a rename,
/// so that a reader, or a process killed mid-write, never leaves or sees half of it.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        writer.Write(text);
    });

    /// <summary>Copies <paramref name="source"/> to <paramref name="path"/> atomically (nothing when they are the same file).</summary>
    public static void Copy(string source, string path)
    {
        if (string.Equals(Path.GetFullPath(source), Path.GetFullPath(path), StringComparison.Ordinal)) return;
        Write(path, stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
    }

    /// <summary>
    /// Creates <paramref name="path"/>'s directory if needed, lets <paramref name="write"/> fill a
    /// temporary file beside it, then renames that over <paramref name="path"/>; on failure the
    /// temporary file is removed and <paramref name="path"/> is left as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var target = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
