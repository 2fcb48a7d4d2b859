// A user's program: prepare a Windows image for iSCSI boot through the public API of the IscsiConvert packages.
// Usage: Consumer IMAGE DEVICE-ID
using IscsiConvert.Storage;
using IscsiConvert.Windows;

string image = args[0];
string nic = args[1];

using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
{
    IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk, writable: true);
    using WindowsInstallation windows = found.Single();

    IscsiBootPlan plan = IscsiBoot.For(windows).WithBootAdapter(nic).Plan();
    Console.WriteLine($"plan: {plan.Changes.Count} change(s) in {plan.ControlSet} for {plan.Target}");
    foreach (RegistryChange change in plan.Changes)
    {
        Console.WriteLine("  " + change);
    }

    IscsiBoot.For(windows).WithBootAdapter(nic).Apply();
    disk.Flush();
}

using (VirtualDisk disk = DiskImage.Open(image))
{
    using WindowsInstallation windows = WindowsInstallation.Find(disk).Single();
    WindowsSystemConfig config = windows.ReadConfiguration();
    foreach (WindowsService service in config.Services.Where(s => s.Start == 0 && s.Name == "E1G60"))
    {
        Console.WriteLine($"boot start: {service.Name}");
    }
    Console.WriteLine($"loaded from: {typeof(IscsiBoot).Assembly.Location}");
}
