using Mono.Cecil;

namespace Pipelines.BuildTools;

/// <summary>
/// Writes a copy of an assembly in which every type and member is public, for use as a
/// compile-time reference only. Non-public virtual members become <c>protected</c> rather than
/// public, so that C# overrides of them (e.g. ML.NET's internal abstract hooks) still compile:
/// an override must keep the accessibility it sees in the reference.
/// </summary>
public static class Publicizer
{
    /// <summary>Returns the number of types and members whose accessibility was widened.</summary>
    public static int Write(string inputPath, string outputPath, IEnumerable<string> searchDirectories)
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(inputPath))!);
        foreach (var dir in searchDirectories.Distinct())
            if (Directory.Exists(dir)) resolver.AddSearchDirectory(dir);

        using var assembly = AssemblyDefinition.ReadAssembly(inputPath,
            new ReaderParameters { AssemblyResolver = resolver, ReadingMode = ReadingMode.Immediate });
        var changed = 0;
        foreach (var type in assembly.MainModule.GetTypes())
            changed += Widen(type);

        var temp = outputPath + ".tmp";
        assembly.Write(temp);
        File.Move(temp, outputPath, overwrite: true);
        return changed;
    }

    private static int Widen(TypeDefinition type)
    {
        var changed = 0;
        if (type.IsNested ? !type.IsNestedPublic : !type.IsPublic)
        {
            type.Attributes &= ~TypeAttributes.VisibilityMask;
            type.Attributes |= type.IsNested ? TypeAttributes.NestedPublic : TypeAttributes.Public;
            changed++;
        }

        // Field names that clash with an event's name are the event's backing store: keep them
        // hidden, or C# would see two members of one name.
        var eventNames = type.Events.Select(e => e.Name).ToHashSet();
        foreach (var field in type.Fields)
        {
            if (field.IsPublic || eventNames.Contains(field.Name)) continue;
            field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
            changed++;
        }

        foreach (var method in type.Methods)
        {
            if (method.IsPublic) continue;
            if (method.IsVirtual)
            {
                // Private virtuals are explicit interface implementations: leave them alone.
                if (method.IsPrivate || method.IsFamily) continue;
                method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Family;
            }
            else
            {
                method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
            }
            changed++;
        }
        return changed;
    }
}
