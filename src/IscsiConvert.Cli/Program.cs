using System;
using IscsiConvert.Cli;

return CliApp.Run(args, Console.Out, Console.Error, isTerminal: !Console.IsErrorRedirected);
