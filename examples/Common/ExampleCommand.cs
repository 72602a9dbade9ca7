using System.CommandLine;
using Pipelines.Models;

namespace Pipelines.Examples.Common;

/// <summary>
/// The command line of every example, on System.CommandLine: an option takes "--name value" or
/// "--name=value", an unknown option or a value of the wrong type is an error (a message, the help,
/// exit code 1), and --help lists every option with its default. An example declares its options,
/// then hands its story to <see cref="Run"/>, which runs it only when the command line is valid.
/// </summary>
public sealed class ExampleCommand
{
    /// <param name="description">What the example does: the first line of --help.</param>
    public ExampleCommand(string description) => Root = new RootCommand(description);

    /// <summary>The command the options belong to, for what the helpers here do not cover.</summary>
    public RootCommand Root { get; }

    /// <summary>Adds <paramref name="name"/> (e.g. "--steps"), which reads as <paramref name="defaultValue"/> when absent.</summary>
    /// <remarks>A bool option is a switch: "--full" alone means true, and "--full false" is accepted too.</remarks>
    public Option<T> Add<T>(string name, T defaultValue, string description)
    {
        // System.CommandLine's help shows every default but a switch's: say that one in the description.
        if (defaultValue is bool on) description += on ? " [default: true]" : " [default: false]";
        return Add(new Option<T>(name) { Description = description, DefaultValueFactory = _ => defaultValue });
    }

    /// <summary>Adds an option that reads as null when absent; <paramref name="description"/> says what happens then.</summary>
    public Option<string?> Add(string name, string description) => Add(new Option<string?>(name) { Description = description });

    /// <summary>--device, default "auto"; the trainers check the value when they start.</summary>
    public Option<string> Device() =>
        Add("--device", ComputeDevice.Auto, "auto (CUDA when the CUDA backend sees a GPU, else CPU), cpu, cuda or cuda:N");

    /// <summary>--data: the file or folder the example reads.</summary>
    public Option<string> Data(string defaultPath, string description) => Named(Add("--data", defaultPath, description), "path");

    /// <summary>--out: the folder the example writes to (created when missing).</summary>
    public Option<string> Out(string defaultFolder) => Named(Add("--out", defaultFolder, "folder for the outputs (created when missing)"), "folder");

    /// <summary>--seed: the seed of the MLContext and of the trainers.</summary>
    public Option<int> Seed(int defaultValue) => Add("--seed", defaultValue, "random seed");

    /// <summary>
    /// Parses <paramref name="args"/> and runs <paramref name="action"/> with the result, whose exit code it returns.
    /// --help, --version and an invalid command line are answered without running the action.
    /// </summary>
    /// <param name="invocation">Where help and errors are written (default: the console).</param>
    public int Run(IReadOnlyList<string> args, Func<ParseResult, int> action, InvocationConfiguration? invocation = null)
    {
        Root.SetAction(action);
        return Root.Parse(args).Invoke(invocation);
    }

    // The placeholder help shows after the name, "--out <folder>" rather than "--out <out>".
    private static Option<T> Named<T>(Option<T> option, string helpName)
    {
        option.HelpName = helpName;
        return option;
    }

    private Option<T> Add<T>(Option<T> option)
    {
        Root.Options.Add(option);
        return option;
    }
}
